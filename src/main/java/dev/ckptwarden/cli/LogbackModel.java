package dev.ckptwarden.cli;

import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.joran.JoranConfigurator;
import ch.qos.logback.classic.joran.serializedModel.HardenedModelInputStream;
import ch.qos.logback.core.joran.spi.JoranException;
import ch.qos.logback.core.model.Model;
import ch.qos.logback.core.status.Status;
import ch.qos.logback.core.status.StatusUtil;
import org.xml.sax.InputSource;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.ObjectOutputStream;
import java.io.OutputStream;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A Logback configuration file parsed ahead of time: the configuration model Logback builds from the XML (its
 * {@code Model} tree, variables still unresolved), serialized with the exact text it was built from. The build
 * writes one for each shipped file ({@code conf/logback.xml}, {@code conf/logback-json.xml}) into the jar as
 * {@code <file name>.model} beside this class. Starting from it spares the agent the JDK's XML parser and
 * Logback's XML rules (~150 classes fewer at idle). It is used only while the configuration file's text is still
 * that text: any edit, or a file of another name, goes through Logback's XML reader as before.
 */
final class LogbackModel extends JoranConfigurator {

    /** The build's step: {@code LogbackModel XML OUT} writes the model of XML to OUT. */
    public static void main(String[] args) throws IOException, JoranException {
        try (OutputStream out = Files.newOutputStream(Path.of(args[1]))) {
            write(Path.of(args[0]), out);
        }
    }

    /**
     * Configures {@code context} from the build's model of a file named as {@code xml} when {@code xml} still has
     * the text that model was built from; false, with {@code context} untouched, otherwise (no such model, another
     * text, not a readable file).
     */
    static boolean configureFromShipped(LoggerContext context, Path xml) {
        Path name = xml.getFileName();
        if (name == null) {
            return false;
        }
        try (InputStream model = LogbackModel.class.getResourceAsStream(name + ".model")) {
            return model != null && Files.isRegularFile(xml) && configure(context, model, xml);
        } catch (IOException e) {
            return false; // Logback's XML reader then reports what is wrong with the file
        }
    }

    /** Builds the model of {@code xml} and writes it, with the XML's text, to {@code out}. */
    static void write(Path xml, OutputStream out) throws IOException, JoranException {
        byte[] text = Files.readAllBytes(xml);
        LoggerContext context = new LoggerContext();
        LogbackModel reader = new LogbackModel();
        reader.setContext(context);
        InputSource source = new InputSource(new ByteArrayInputStream(text));
        source.setSystemId(xml.toUri().toString());
        Model top = reader.buildModelFromSaxEventList(reader.populateSaxEventRecorder(source).getSaxEventList());
        if (top == null || new StatusUtil(context).getHighestLevel(0) >= Status.ERROR) {
            throw new JoranException("Logback could not read " + xml);
        }
        try (ObjectOutputStream objects = new ObjectOutputStream(out)) {
            objects.writeObject(new String(text, StandardCharsets.ISO_8859_1)); // byte for byte
            objects.writeObject(top);
        }
    }

    /**
     * Configures {@code context} from {@code model} when it was built from the current text of {@code xml}, as
     * Logback's own XML configurator would from {@code xml}; false (and {@code context} untouched) otherwise.
     */
    static boolean configure(LoggerContext context, InputStream model, Path xml) throws IOException {
        byte[] text = Files.readAllBytes(xml);
        Model top;
        try (HardenedModelInputStream objects = new HardenedModelInputStream(context, model)) {
            if (!new String(text, StandardCharsets.ISO_8859_1).equals(objects.readObject())) {
                return false;
            }
            top = (Model) objects.readObject();
        } catch (ClassNotFoundException | ClassCastException e) {
            return false; // not a model of this Logback version: the XML it is
        }
        LogbackModel configurator = new LogbackModel();
        configurator.setContext(context);
        configurator.run(top, xml.toUri().toURL());
        return true;
    }

    /** What {@code GenericXMLConfigurator.doConfigure(InputSource)} does once it has the model. */
    private void run(Model top, URL url) {
        long threshold = System.currentTimeMillis();
        setTopURL(url);
        sanityCheck(top);
        processModel(top);
        if (new StatusUtil(context).noXMLParsingErrorsOccurred(threshold)) {
            registerSafeConfiguration(top);
        }
    }
}
