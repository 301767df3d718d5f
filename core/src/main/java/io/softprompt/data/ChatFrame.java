package io.softprompt.data;

import io.softprompt.model.ChatTemplate;
import io.softprompt.model.LanguageModel;
import io.softprompt.util.UserException;
import java.util.ArrayList;
import java.util.List;

/**
 * The text a chat task puts around each row: the model's chat template rendered once per task with a
 * marker where the row's text goes (the task's template as the user message, after the system message
 * when given, and the assistant's turn opened), split at the marker. Every row then is head + text + tail,
 * exactly what rendering the row's own conversation gives for a template that treats the message as
 * text (tested against direct rendering), and truncation keeps the tail as for a plain task.
 */
final class ChatFrame {
    /** Private-use characters no tokenizer merges and no template trims: where the row's text goes. */
    static final String MARK = "\uE000softprompt-text\uE001";

    private ChatFrame() {}

    /**
     * The rendered head and tail around a row's text.
     *
     * @param task the chat task
     * @param before the task template's text before the row's text
     * @param after the task template's text after it
     * @param kind the model's kind (only decoder LMs chat)
     * @param chat the model's chat template, or null when it has none
     * @return {head, tail}
     */
    static String[] around(Task task, String before, String after, LanguageModel.Kind kind, ChatTemplate chat) {
        if (kind != LanguageModel.Kind.DECODER) {
            throw new UserException("task " + task.name() + " is framed as a chat (\"chat\": true or --chat), which only "
                    + "decoder LMs take; this model is " + (kind == LanguageModel.Kind.MASKED ? "a masked LM" : "an encoder-decoder"));
        }
        if (chat == null) {
            throw new UserException("task " + task.name() + " is framed as a chat (\"chat\": true or --chat), but the model has "
                    + "no chat template (no chat_template.jinja, no chat_template in tokenizer_config.json)");
        }
        String rendered = chat.render(messages(task, before + MARK + after), true, task.chatVariables());
        int at = rendered.indexOf(MARK);
        if (at < 0 || rendered.indexOf(MARK, at + 1) >= 0) {
            throw new UserException(chat.origin() + ": the chat template " + (at < 0 ? "does not show" : "repeats")
                    + " the user's message as written, so a row's text has no one place in it");
        }
        return new String[] {rendered.substring(0, at), rendered.substring(at + MARK.length())};
    }

    /** The conversation of one row: the system message when the task has one, then the user's. */
    static List<ChatTemplate.Message> messages(Task task, String user) {
        List<ChatTemplate.Message> m = new ArrayList<>();
        if (task.system() != null) {
            m.add(new ChatTemplate.Message("system", task.system()));
        }
        m.add(new ChatTemplate.Message("user", user));
        return m;
    }
}
