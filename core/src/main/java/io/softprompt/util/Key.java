package io.softprompt.util;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * The declaration of a setting's key, on its record component (the training config's, serve's, a
 * decoding's): with the component's JSON name (the key) and type, this is everything about the key.
 * From it come the defaults ({@link Keys#defaults}), the JSON form, the command line's flag
 * {@code --key-name} with its help, and the keys tables of docs/CONFIG.md.
 */
@Retention(RetentionPolicy.RUNTIME)
@Target({ElementType.RECORD_COMPONENT, ElementType.PARAMETER, ElementType.FIELD, ElementType.METHOD})
public @interface Key {
    /**
     * The flag's help text; {@code ${DEFAULT-VALUE}} shows the default, {@code {{key}}} names another
     * setting (the command line shows its flag).
     */
    String help();

    /** The value's name in the usage line (N, FILE, LR); empty for a switch. */
    String label() default "";

    /** The default as text, parsed as the component's type; empty: none (null). */
    String value() default "";

    /** Other flag names (e.g. -o for --output). */
    String[] aliases() default {};

    /** A flag left out of the help (test and benchmark hooks). */
    boolean hidden() default false;

    /** False for a key whose flag another option group declares (--model, with the model options). */
    boolean flag() default true;
}
