package io.softprompt.train;

import com.google.protobuf.ByteString;
import com.google.protobuf.CodedOutputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Locale;
import java.util.zip.CRC32C;

/**
 * A TensorBoard event file: TFRecord framing (length, masked CRC-32C of the length, the record,
 * masked CRC-32C of the record) around {@code tensorflow.Event} messages, encoded with protobuf-java's
 * {@link CodedOutputStream} from the few fields TensorBoard reads:
 *
 * <pre>
 *   Event   { double wall_time = 1; int64 step = 2; string file_version = 3; Summary summary = 5; }
 *   Summary { repeated Value value = 1; }
 *   Value   { string tag = 1; float simple_value = 2; SummaryMetadata metadata = 9; TensorProto tensor = 8; }
 *   SummaryMetadata { PluginData plugin_data = 1; }   PluginData { string plugin_name = 1; }
 *   TensorProto { DataType dtype = 1 (DT_STRING = 7); TensorShapeProto tensor_shape = 2; repeated bytes string_val = 8; }
 * </pre>
 *
 * Each record is flushed as it is written: a run killed at any moment leaves whole records, and
 * {@code tensorboard --logdir} shows a run's curves while it trains.
 */
public final class EventFile implements AutoCloseable {
    /** The file name prefix TensorBoard looks for. */
    public static final String PREFIX = "events.out.tfevents.";
    private final OutputStream out;
    private final Path file;

    /** A new event file in dir (created), named as TensorBoard expects, opened with its version event. */
    public EventFile(Path dir) throws IOException {
        Files.createDirectories(dir);
        long now = System.currentTimeMillis();
        this.file = dir.resolve(String.format(Locale.ROOT, "%s%d.softprompt.%d.%d", PREFIX, now / 1000,
                ProcessHandle.current().pid(), now % 1000));
        this.out = Files.newOutputStream(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
        record(event(now / 1000.0, 0, null, "brain.Event:2"));
    }

    public Path file() {
        return file;
    }

    /** A scalar at a step (a line of a curve). */
    public void scalar(long step, String tag, double value) throws IOException {
        ByteArrayOutputStream v = new ByteArrayOutputStream();
        CodedOutputStream c = CodedOutputStream.newInstance(v);
        c.writeString(1, tag);
        c.writeFloat(2, (float) value);
        c.flush();
        record(event(System.currentTimeMillis() / 1000.0, step, summary(v.toByteArray()), null));
    }

    /** A text at a step, for TensorBoard's text plugin (the run's configuration). */
    public void text(long step, String tag, String text) throws IOException {
        ByteArrayOutputStream plugin = new ByteArrayOutputStream();
        CodedOutputStream p = CodedOutputStream.newInstance(plugin);
        p.writeString(1, "text");
        p.flush();
        ByteArrayOutputStream meta = new ByteArrayOutputStream();
        CodedOutputStream m = CodedOutputStream.newInstance(meta);
        m.writeByteArray(1, plugin.toByteArray());
        m.flush();
        ByteArrayOutputStream tensor = new ByteArrayOutputStream();
        CodedOutputStream t = CodedOutputStream.newInstance(tensor);
        t.writeEnum(1, 7);                          // DT_STRING
        t.writeByteArray(2, new byte[0]);           // a scalar: the empty shape
        t.writeBytes(8, ByteString.copyFrom(text, StandardCharsets.UTF_8));
        t.flush();
        ByteArrayOutputStream v = new ByteArrayOutputStream();
        CodedOutputStream c = CodedOutputStream.newInstance(v);
        c.writeString(1, tag);
        c.writeByteArray(8, tensor.toByteArray());
        c.writeByteArray(9, meta.toByteArray());
        c.flush();
        record(event(System.currentTimeMillis() / 1000.0, step, summary(v.toByteArray()), null));
    }

    private static byte[] summary(byte[] value) throws IOException {
        ByteArrayOutputStream s = new ByteArrayOutputStream();
        CodedOutputStream c = CodedOutputStream.newInstance(s);
        c.writeByteArray(1, value);
        c.flush();
        return s.toByteArray();
    }

    private static byte[] event(double wallTime, long step, byte[] summary, String fileVersion) throws IOException {
        ByteArrayOutputStream e = new ByteArrayOutputStream();
        CodedOutputStream c = CodedOutputStream.newInstance(e);
        c.writeDouble(1, wallTime);
        if (step != 0) {
            c.writeInt64(2, step);
        }
        if (fileVersion != null) {
            c.writeString(3, fileVersion);
        }
        if (summary != null) {
            c.writeByteArray(5, summary);
        }
        c.flush();
        return e.toByteArray();
    }

    /** One TFRecord: uint64 length, masked CRC of it, the data, masked CRC of the data; flushed. */
    private synchronized void record(byte[] data) throws IOException {
        byte[] len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(data.length).array();
        out.write(len);
        out.write(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(maskedCrc(len)).array());
        out.write(data);
        out.write(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(maskedCrc(data)).array());
        out.flush();
    }

    /** TFRecord's masked CRC-32C: rotated right by 15 bits, plus 0xa282ead8. */
    public static int maskedCrc(byte[] data) {
        CRC32C crc = new CRC32C();
        crc.update(data);
        int c = (int) crc.getValue();
        return ((c >>> 15) | (c << 17)) + 0xa282ead8;
    }

    @Override
    public void close() throws IOException {
        out.close();
    }
}
