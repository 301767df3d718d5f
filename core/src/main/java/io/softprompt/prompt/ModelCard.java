package io.softprompt.prompt;

import com.fasterxml.jackson.databind.JsonNode;
import io.softprompt.model.PromptSite;
import io.softprompt.util.Json;
import java.io.IOException;
import java.util.Iterator;
import java.util.Locale;
import java.util.Map;

/**
 * The README.md an exported adapter folder carries, as the Hugging Face hub reads a model card: YAML
 * front matter (base_model, library_name: peft, tags, pipeline_tag), then the task, its template and
 * verbalizer, the dev metrics, the training configuration and how to load the adapter with PEFT and
 * with softprompt. Nothing machine-local goes in: a path (a local model folder, the data files) is
 * shown by its last name only.
 */
final class ModelCard {
    private ModelCard() {}

    /** The card of an adapter of PEFT type {@code peftType} (PROMPT_TUNING, P_TUNING or PREFIX_TUNING). */
    static String of(Prompt sp, String modelKind, String peftType) {
        String base = plainName(sp.meta(PromptFile.MODEL_NAME));
        String tag = switch (peftType) {
            case "PREFIX_TUNING" -> "prefix-tuning";
            case "P_TUNING" -> "p-tuning";
            default -> "prompt-tuning";
        };
        String hidden = sp.site() == PromptSite.DEEP ? sp.meta(PromptFile.HIDDEN_SIZE) : Integer.toString(sp.hidden());
        String task = sp.meta(PromptFile.TASK) == null ? "a task" : sp.meta(PromptFile.TASK);
        boolean classifies = !"text-to-text".equals(sp.meta(PromptFile.TASK_TYPE));
        String pipeline = classifies ? "text-classification" : switch (modelKind) {
            case "SEQ2SEQ" -> "text2text-generation";
            default -> "text-generation";
        };
        String autoClass = switch (modelKind) {
            case "SEQ2SEQ" -> "AutoModelForSeq2SeqLM";
            case "MASKED" -> "AutoModelForMaskedLM";
            default -> "AutoModelForCausalLM";
        };
        StringBuilder md = new StringBuilder("---\n");
        md.append("base_model: ").append(quoted(base)).append('\n');
        md.append("library_name: peft\n");
        md.append("tags:\n- peft\n- ").append(tag).append("\n- softprompt\n- ").append(quoted(task)).append('\n');
        md.append("pipeline_tag: ").append(pipeline).append('\n');
        md.append("---\n\n");
        md.append("# A soft prompt for ").append(task).append(" on ").append(base).append("\n\n");
        String what = sp.site() == PromptSite.DEEP ? "deep prompt (prefix tuning, Li & Liang 2021; P-Tuning v2: " + sp.tokens()
                + " key and value rows in every layer)" : "soft prompt (" + (tag.equals("p-tuning")
                ? "trained through P-tuning's MLP, folded" : "prompt tuning, Lester et al. 2021") + ")";
        md.append("A ").append(sp.tokens()).append("-token ").append(what).append(" for a frozen ")
                .append(base).append(" (hidden size ").append(hidden).append("), trained with softprompt and exported as a ")
                .append("PEFT ").append(tag).append(" adapter. Only the prompt was learned; the model is unchanged.\n\n");
        md.append("## Task\n\n");
        if (sp.meta(PromptFile.TEMPLATE) != null) {
            md.append("- template: `").append(sp.meta(PromptFile.TEMPLATE).replace("`", "'")).append("`\n");
        }
        JsonNode verbalizer = tree(sp.meta(PromptFile.VERBALIZER));
        if (verbalizer != null && verbalizer.isObject() && verbalizer.size() > 0) {
            md.append("- verbalizer (label → word):");
            for (Iterator<Map.Entry<String, JsonNode>> it = verbalizer.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                md.append(" `").append(e.getKey()).append("` → `").append(e.getValue().asText()).append('`')
                        .append(it.hasNext() ? "," : "\n");
            }
        }
        md.append("- type: ").append(sp.meta(PromptFile.TASK_TYPE) == null ? "classification" : sp.meta(PromptFile.TASK_TYPE))
                .append("\n\n");
        JsonNode metrics = tree(sp.meta(PromptFile.METRICS));
        JsonNode dev = metrics == null ? null : metrics.get("dev");
        md.append("## Dev metrics\n\n");
        if (dev != null && dev.isObject()) {
            md.append(String.format(Locale.ROOT, "- accuracy %.4f on %d examples", dev.path("accuracy").asDouble(),
                    dev.path("examples").asInt()));
            if (dev.hasNonNull("macro_f1")) {
                md.append(String.format(Locale.ROOT, ", macro-F1 %.4f", dev.path("macro_f1").asDouble()));
            }
            md.append(", best at step ").append(metrics.path("best_step").asInt()).append("\n\n");
        } else {
            md.append("None recorded (no dev set, or an imported prompt).\n\n");
        }
        JsonNode cfg = tree(sp.meta(PromptFile.TRAIN_CONFIG));
        if (cfg != null && cfg.isObject()) {
            md.append("## Training\n\n| key | value |\n|---|---|\n");
            for (Iterator<Map.Entry<String, JsonNode>> it = cfg.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                if (e.getValue().isNull()) {
                    continue;
                }
                String v = e.getValue().isTextual() ? plainName(e.getValue().asText()) : e.getValue().toString();
                md.append("| `").append(e.getKey()).append("` | ").append(v.replace("|", "\\|").replaceAll("\\p{Cntrl}", " "))
                        .append(" |\n");
            }
            md.append('\n');
        }
        md.append("## Use\n\nWith PEFT (Python), on the same base model:\n\n```python\n")
                .append("import torch\n")
                .append("from peft import PeftModel\n")
                .append("from transformers import AutoTokenizer, ").append(autoClass).append("\n\n")
                .append("tok = AutoTokenizer.from_pretrained(").append(quoted(base)).append(")\n")
                .append("base = ").append(autoClass).append(".from_pretrained(").append(quoted(base)).append(")\n")
                .append("model = PeftModel.from_pretrained(base, \"path/to/this/folder\").eval()\n");
        if (classifies) {
            md.append(PythonSnippet.classify(sp, modelKind));
        }
        md.append("```\n\n")
                .append("With softprompt (the JVM):\n\n```sh\n")
                .append("softprompt import path/to/this/folder --model ").append(shellQuoted(base)).append(" -o prompt.sp\n")
                .append("softprompt infer --prompt prompt.sp \"some text\"\n```\n");
        return md.toString();
    }

    /** A local path by its last name (a card travels; the folder it names does not); a hub id as it is. */
    static String plainName(String value) {
        if (value == null || value.isBlank()) {
            return "an unnamed model";
        }
        if (HUB_ID.matcher(value).matches() || !looksLikePath(value)) {
            return value.replaceAll("\\p{Cntrl}", " ");
        }
        String last = value.replaceAll("[/\\\\]+$", "");
        last = last.substring(Math.max(last.lastIndexOf('/'), last.lastIndexOf('\\')) + 1); // POSIX and Windows alike
        return last.isEmpty() ? "an unnamed model" : last.replaceAll("\\p{Cntrl}", " ");
    }

    /**
     * The .sp metadata as an adapter folder carries it (softprompt.json): nothing machine-local. A local
     * model path and the training configuration's paths become their last names; run-local keys
     * (pad_to) are dropped.
     */
    static Map<String, String> portable(Map<String, String> meta) {
        Map<String, String> out = new java.util.LinkedHashMap<>(meta);
        String model = out.get(PromptFile.MODEL_NAME);
        if (model != null) {
            out.put(PromptFile.MODEL_NAME, plainName(model));
        }
        JsonNode cfg = tree(out.get(PromptFile.TRAIN_CONFIG));
        if (cfg instanceof com.fasterxml.jackson.databind.node.ObjectNode o) {
            o.remove("pad_to");
            for (Iterator<Map.Entry<String, JsonNode>> it = o.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                if (e.getValue().isTextual()) {
                    e.setValue(com.fasterxml.jackson.databind.node.TextNode.valueOf(plainName(e.getValue().asText())));
                }
            }
            out.put(PromptFile.TRAIN_CONFIG, Json.write(o));
        }
        return out;
    }

    /** A local path, POSIX or Windows, absolute or climbing out of its folder (a template or a word is not one). */
    private static boolean looksLikePath(String v) {
        return v.startsWith("/") || v.startsWith("./") || v.startsWith("../") || v.startsWith("~") || v.contains("\\")
                || v.matches("^[A-Za-z]:.*") || v.contains("/../");
    }

    /** A hub id as huggingface_hub takes one ({org/}name, optionally @revision): shown as it is. */
    private static final java.util.regex.Pattern HUB_ID =
            java.util.regex.Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)?(@[A-Za-z0-9._/-]+)?");

    /**
     * A word as a POSIX shell reads it back unchanged: in single quotes, each quote written '\''. A
     * model's name from a file must not become shell code in a snippet a user copies.
     */
    static String shellQuoted(String s) {
        return "'" + s.replace("'", "'\\''") + "'";
    }

    private static JsonNode tree(String json) {
        if (json == null) {
            return null;
        }
        try {
            return Json.MAPPER.readTree(json);
        } catch (IOException e) {
            return null;
        }
    }

    /** A string quoted and escaped as JSON writes it: a valid YAML scalar and a valid Python literal alike. */
    private static String quoted(String s) {
        return Json.write(s);
    }
}
