package io.softprompt.util;

/** The library's version, as recorded in the files it writes. */
public final class Version {
    private Version() {}

    /** "softprompt X" from the core jar's manifest (Implementation-Version), "softprompt dev" from classes. */
    public static String software() {
        String v = Version.class.getPackage().getImplementationVersion();
        return "softprompt " + (v == null ? "dev" : v);
    }
}
