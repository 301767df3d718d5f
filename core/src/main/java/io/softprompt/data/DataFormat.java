package io.softprompt.data;

import io.softprompt.util.UserException;
import java.util.Locale;

/** How a data file is read: by its name's extension (.csv, .jsonl, else TSV), or as the user says. */
public enum DataFormat {
    /** By extension: .csv is CSV, .jsonl JSON lines, anything else TSV. */
    AUTO,
    TSV,
    CSV,
    JSONL;

    /**
     * A format by name (auto, tsv, csv, jsonl; any case); null is auto.
     *
     * @param name the name, or null
     * @return the format
     */
    public static DataFormat parse(String name) {
        if (name == null) {
            return AUTO;
        }
        try {
            return valueOf(name.strip().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new UserException("{{format}} must be auto, tsv, csv or jsonl (got " + UserException.quote(name) + ")");
        }
    }

    /**
     * The format a source is read in: this one, or for AUTO the one its name's extension says.
     *
     * @param source the data
     * @return TSV, CSV or JSONL
     */
    public DataFormat of(DataSource source) {
        if (this != AUTO) {
            return this;
        }
        String n = source.name().toLowerCase(Locale.ROOT);
        return n.endsWith(".jsonl") ? JSONL : n.endsWith(".csv") ? CSV : TSV;
    }

    /** The name as the command line and config files write it. */
    public String id() {
        return name().toLowerCase(Locale.ROOT);
    }
}
