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

    /** The lines after the model is loaded (tok, model), ending in an example call. */
    static String classify(Prompt sp, String modelKind) {
        String template = sp.meta(PromptFile.TEMPLATE) == null ? "{text}" : sp.meta(PromptFile.TEMPLATE);
        String column = sp.meta(PromptFile.TEXT_COLUMN) == null ? "text" : sp.meta(PromptFile.TEXT_COLUMN);
        String words = sp.meta(PromptFile.VERBALIZER) == null ? "{}" : sp.meta(PromptFile.VERBALIZER);
        StringBuilder py = new StringBuilder("\n# the task's framing and verbalizer, as softprompt trained them\n")
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
            default -> py.append("    enc = tok(framed, return_tensors=\"pt\")\n")
                    .append("    with torch.no_grad():\n")
                    .append("        logits = model(**enc).logits[0, -1]  # the last input token predicts the word\n");
        }
        return py.append("    return max(first, key=lambda label: logits[first[label]].item())\n\n")
                .append("print(classify(\"a gripping, funny film\"))\n").toString();
    }
}
