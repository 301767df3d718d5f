package io.softprompt.prompt;

import io.softprompt.util.Json;

/**
 * The Python lines of a model card that reproduce a classifying prompt's decision with transformers
 * and PEFT, as softprompt makes it: the text framed by the task's template, the logits where the
 * label word is read (a decoder's last input token; a T5 decoder's first step; the mask token,
 * behind PEFT's virtual tokens), the label whose word's first token scores highest.
 */
final class PythonSnippet {
    private PythonSnippet() {}

    /**
     * A decoder's encoding: the framed text as it is, or, for a prompt trained on the model's chat template,
     * the conversation rendered by tokenizer.apply_chat_template and tokenized without special ids added.
     */
    private static StringBuilder chatOrPlain(Prompt sp, StringBuilder py) {
        if (!"true".equals(sp.meta(PromptFile.CHAT))) {
            return py.append("    enc = tok(framed, return_tensors=\"pt\")\n");
        }
        String system = sp.meta(PromptFile.SYSTEM);
        String vars = sp.meta(PromptFile.CHAT_VARIABLES) == null ? "{}" : sp.meta(PromptFile.CHAT_VARIABLES);
        return py.append("    # trained on the model's chat template: the framed text is the user's message\n")
                .append("    messages = [{\"role\": \"user\", \"content\": framed}]\n")
                .append(system == null ? "" : "    messages.insert(0, {\"role\": \"system\", \"content\": " + Json.write(system) + "})\n")
                .append("    framed = tok.apply_chat_template(messages, add_generation_prompt=True, tokenize=False, **json.loads(")
                .append(Json.write(vars)).append("))\n")
                .append("    enc = tok(framed, return_tensors=\"pt\", add_special_tokens=False)  # the template has them\n");
    }

    /** The lines after the model is loaded (tok, model), ending in an example call. */
    static String classify(Prompt sp, String modelKind) {
        String template = sp.meta(PromptFile.TEMPLATE) == null ? "{text}" : sp.meta(PromptFile.TEMPLATE);
        String column = sp.meta(PromptFile.TEXT_COLUMN) == null ? "text" : sp.meta(PromptFile.TEXT_COLUMN);
        String words = sp.meta(PromptFile.VERBALIZER) == null ? "{}" : sp.meta(PromptFile.VERBALIZER);
        StringBuilder py = new StringBuilder("\n# the task's framing and verbalizer, as softprompt trained them\n")
                .append("true".equals(sp.meta(PromptFile.CHAT)) ? "import json\n" : "")
                .append("template = ").append(Json.write(template)).append('\n')
                .append("words = ").append(words).append("  # label -> word\n")
                .append("first = {label: tok(w, add_special_tokens=False).input_ids[0] for label, w in words.items()}\n\n")
                .append("def classify(text):\n")
                .append("    framed = template.replace(").append(Json.write("{" + column + "}")).append(", text.strip())\n");
        switch (modelKind) {
            case "SEQ2SEQ" -> py.append("    enc = tok(framed, return_tensors=\"pt\")\n")
                    .append("    start = torch.tensor([[base.config.decoder_start_token_id]])\n")
                    .append("    with torch.no_grad():\n")
                    .append("        logits = model(**enc, decoder_input_ids=start).logits[0, 0]  # decoder step 0\n");
            case "MASKED" -> py.append("    if \"{mask}\" in framed:\n")
                    .append("        framed = framed.replace(\"{mask}\", tok.mask_token)\n")
                    .append("    else:\n")
                    .append("        framed = framed + \" \" + tok.mask_token + \".\"\n")
                    .append("    enc = tok(framed, return_tensors=\"pt\")\n")
                    .append("    at = (enc.input_ids[0] == tok.mask_token_id).nonzero()[-1].item()\n")
                    .append("    with torch.no_grad():\n")
                    .append("        out = model(**enc).logits[0]\n")
                    .append("    logits = out[out.shape[0] - enc.input_ids.shape[1] + at]  # past PEFT's virtual tokens\n");
            default -> chatOrPlain(sp, py)
                    .append("    with torch.no_grad():\n")
                    .append("        logits = model(**enc).logits[0, -1]  # the last input token predicts the word\n");
        }
        return py.append("    return max(first, key=lambda label: logits[first[label]].item())\n\n")
                .append("print(classify(\"a gripping, funny film\"))\n").toString();
    }
}
