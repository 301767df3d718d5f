package io.softprompt.hub;

import io.softprompt.util.UserException;
import java.net.URI;
import java.net.URISyntaxException;
import java.util.Locale;

/**
 * What the hub client takes from its environment (HF_TOKEN, HF_ENDPOINT) and from a hub's headers
 * (ETag, Content-Range), each checked before it is used: a value that cannot be used is one line,
 * never an exception from deeper down, and never shows a secret.
 */
final class HubHeaders {
    private HubHeaders() {}

    /**
     * The access token as an Authorization header can carry it (visible ASCII only), else a refusal
     * that says where the fault is and never shows the token.
     */
    static String checkedToken(String token) {
        for (int i = 0; i < token.length(); i++) {
            char c = token.charAt(i);
            if (c < 0x21 || c > 0x7e) {
                throw new UserException("HF_TOKEN holds a character an HTTP header cannot carry (character " + (i + 1)
                        + " of " + token.length() + ": " + (c < 0x20 || c == 0x7f ? "a control character" : c > 0x7e
                        ? "not ASCII" : "a space") + "); no request was sent; set it to the token alone");
            }
        }
        return token;
    }

    /**
     * The hub's address as the client can use it: http or https, a host (an IPv6 address in brackets),
     * a port from 1 to 65535, no user name or password, no query; else a one-line refusal.
     */
    static String checkedEndpoint(String endpoint) {
        String why;
        URI u = null;
        try {
            u = new URI(endpoint);
            String scheme = u.getScheme() == null ? "" : u.getScheme().toLowerCase(Locale.ROOT);
            why = !scheme.equals("http") && !scheme.equals("https")
                    ? (scheme.isEmpty() ? "no scheme: start it with https://" : "scheme " + scheme + ": only http and https")
                    : u.getRawUserInfo() != null ? "a user name or password in the address (set HF_TOKEN instead)"
                    : u.getHost() == null ? "no host name (an IPv6 address goes in brackets: http://[::1]:8080)"
                    : u.getPort() == 0 || u.getPort() > 65535 || u.getPort() < -1 ? "port " + u.getPort() + " is not 1 to 65535"
                    : u.getRawQuery() != null || u.getRawFragment() != null ? "a query or fragment" : null;
        } catch (URISyntaxException e) {
            why = "not an address (" + e.getReason() + " at character " + (e.getIndex() + 1) + ")";
        }
        if (why != null) {
            String shown = u != null && u.getRawUserInfo() != null ? "" : " " + UserException.quote(endpoint);
            throw new UserException("HF_ENDPOINT" + shown + ": " + why);
        }
        return endpoint;
    }

    /** An ETag as huggingface_hub names a blob by it: no weak marker, no quotes. */
    static String normalizeEtag(String etag) {
        String e = etag.strip();
        if (e.startsWith("W/")) {
            e = e.substring(2);
        }
        return e.replace("\"", "");
    }

    private static final java.util.regex.Pattern CONTENT_RANGE =
            java.util.regex.Pattern.compile("bytes ([0-9]{1,18})-([0-9]{1,18})/([0-9]{1,18}|\\*)");

    /**
     * A 206 answer's {@code Content-Range: bytes FIRST-LAST/TOTAL} as {first, total} (total −1 for
     * "*"), or null when it is not of that form or does not add up (last before first, past the total).
     */
    static long[] contentRange(String header) {
        var m = CONTENT_RANGE.matcher(header.strip());
        if (!m.matches()) {
            return null;
        }
        long first = Long.parseLong(m.group(1));
        long last = Long.parseLong(m.group(2));
        long total = m.group(3).equals("*") ? -1 : Long.parseLong(m.group(3));
        return last < first || total >= 0 && last >= total ? null : new long[] {first, total};
    }
}
