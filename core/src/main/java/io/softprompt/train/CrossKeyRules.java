package io.softprompt.train;

import io.softprompt.model.DeepSite;
import io.softprompt.model.PromptSite;
import io.softprompt.prompt.PromptInit;
import io.softprompt.util.UserException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The training keys' cross-key rules: pairings that mean nothing (a reparameterisation of a deep
 * prompt, an anchor without its text, an init_from beside an init it replaces) refused in one line
 * naming the keys. Each key's own range is checked beside its declaration ({@link TrainConfig#validate}).
 */
final class CrossKeyRules {
    private CrossKeyRules() {}

    /** The widest reparameterisation network: 64 times the widest model's hidden size. */
    static final int MAX_HIDDEN = 1 << 20;

    /** Refuses the first pairing of {@code c} that no run can use. */
    static void check(TrainConfig c) {
        check(c.depth() == null || c.depth().equals("auto") || c.depth().equals("input") || c.depth().equals("deep")
                || c.depth().equals("late"), "{{depth}} must be auto, input, deep or late (got "
                + UserException.quote(String.valueOf(c.depth())) + ")");
        check(c.promptLayers() == null || c.promptLayers() >= 1, "{{prompt_layers}} must be at least 1 (got " + c.promptLayers() + ")");
        check(c.promptLayers() == null || "deep".equals(c.depth()) || "late".equals(c.depth()),
                "{{prompt_layers}} places a deep or late prompt; add {{depth}} deep or late");
        check(!"late".equals(c.depth()) || c.promptLayers() != null, "{{depth}} late needs {{prompt_layers}}: the top "
                + "layers the prompt passes through");
        check(c.promptLayers() == null || !c.prefixProjection(), "{{prefix_projection}} trains every layer's prefix; drop {{prompt_layers}}");
        check(c.activationCacheMb() >= 0, "{{activation_cache_mb}} must not be negative (got " + c.activationCacheMb() + ")");
        boolean reparamed = !"none".equals(Reparam.parse(c.reparam()));
        check(!reparamed || !(c.site() instanceof DeepSite), "{{reparam}} " + c.reparam() + " trains an input prompt; a deep prompt "
                + "takes {{prefix_projection}}");
        check(!c.prefixProjection() || !"input".equals(c.depth()), "{{prefix_projection}} trains a deep prompt; drop {{depth}} input");
        check(!c.prefixProjection() || !reparamed, "{{prefix_projection}} and {{reparam}} cannot be used together");
        check(!(reparamed || c.prefixProjection()) || "adamw".equalsIgnoreCase(c.optimizer()), (reparamed ? "{{reparam}} "
                + c.reparam() : "{{prefix_projection}}") + " trains with adamw, as PEFT does (got {{optimizer}} " + c.optimizer() + ")");
        check(c.reparamHidden() == null || c.reparamHidden() >= 1, "{{reparam_hidden}} must be at least 1 (got " + c.reparamHidden() + ")");
        check(c.reparamHidden() == null || c.reparamHidden() <= MAX_HIDDEN, "{{reparam_hidden}} must be at most " + MAX_HIDDEN
                + " (got " + c.reparamHidden() + ")");
        check(c.loggingDir() == null || c.reportsToTensorBoard(), "{{logging_dir}} is where TensorBoard's event files go; "
                + "it needs {{report_to}} tensorboard");
        check(c.reparamHidden() == null || reparamed || c.prefixProjection(), "{{reparam_hidden}} needs {{reparam}} or "
                + "{{prefix_projection}}");
        check(c.reparamLr() == null || c.reparamLr() > 0 && Double.isFinite(c.reparamLr()), "{{reparam_lr}} must be positive (got "
                + c.reparamLr() + ")");
        check(c.reparamLr() == null || reparamed || c.prefixProjection(), "{{reparam_lr}} needs {{reparam}} or {{prefix_projection}}");
        check(c.site() == PromptSite.INPUT || c.anchorText() == null, "{{anchor_text}} keeps an input prompt near a text; a "
                + c.site().noun() + " has none");
        PromptInit init = PromptInit.parse(c.init());
        check(init != PromptInit.TEXT || (c.initText() != null && !c.initText().isBlank()),
                "{{init}} text needs {{init_text}} \"...\"");
        check(c.initText() == null || init == PromptInit.TEXT,
                "{{init_text}} is only used with {{init}} text (got {{init}} " + c.init() + ")");
        check(c.initFrom() == null || init == PromptInit.VOCAB || init == PromptInit.TRANSFER,
                "{{init_from}} replaces {{init}} (got {{init}} " + c.init() + ")");
        check(c.initFrom() == null || c.initText() == null, "{{init_text}} is only used with {{init}} text, not {{init_from}}");
        check(c.initFrom() == null || Files.exists(Path.of(c.initFrom())), "{{init_from}} " + c.initFrom() + ": not found (a .sp "
                + "file, a PEFT adapter folder, or an adapter's hub id)");
        check(init != PromptInit.TRANSFER || c.initFrom() != null, "{{init}} transfer needs {{init_from}} FILE.sp");
        check(c.anchorText() == null || !c.anchorText().isBlank(), "{{anchor_text}} must not be empty");
        check(c.anchorWeight() == null || (c.anchorWeight() >= 0 && Double.isFinite(c.anchorWeight())),
                "{{anchor_weight}} must be a non-negative number (got " + c.anchorWeight() + ")");
        check(c.anchorWeight() == null || c.anchorText() != null, "{{anchor_weight}} needs {{anchor_text}} \"...\" (the text the "
                + "prompt is kept near)");
    }

    private static void check(boolean ok, String message) {
        if (!ok) {
            throw new UserException(message);
        }
    }
}
