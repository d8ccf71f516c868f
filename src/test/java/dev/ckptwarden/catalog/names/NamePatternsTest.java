package dev.ckptwarden.catalog.names;

import dev.ckptwarden.catalog.ParsedName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.List;
import java.util.stream.Stream;

import static dev.ckptwarden.catalog.names.NameParserTest.p;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.params.provider.Arguments.arguments;

class NamePatternsTest {

    @Test
    void kerasWeightsTemplate() {
        NameParser parser = NameParser.withPatterns(List.of("weights.{epoch:02d}-{val_loss:.2f}.hdf5"));
        assertThat(parser.parse("weights.05-0.12.hdf5")).isEqualTo(p(5, null, null, false, "val_loss", 0.12));
        assertThat(parser.parse("weights.05--0.50.hdf5")).isEqualTo(p(5, null, null, false, "val_loss", -0.5));
        assertThat(parser.parse("weights.12-nan.hdf5")).isEqualTo(p(12, null, null, false, "val_loss", Double.NaN));
    }

    @Test
    void kerasImprovementTemplate() {
        NameParser parser = NameParser.withPatterns(List.of("weights-improvement-{epoch:02d}-{val_accuracy:.2f}.hdf5"));
        // Both names are real (filenames.txt).
        assertThat(parser.parse("weights-improvement-01-0.69.hdf5")).isEqualTo(p(1, null, null, false, "val_accuracy", 0.69));
        assertThat(parser.parse("weights-improvement-01-0.87.hdf5")).isEqualTo(p(1, null, null, false, "val_accuracy", 0.87));
    }

    @Test
    void positionalLightningTemplatesMatchTheStemAndKeepVersionAndLast() {
        NameParser parser = NameParser.withPatterns(List.of("{epoch:02d}-{val_loss:.2f}"));
        // Real names from an auto_insert_metric_name=False run.
        assertThat(parser.parse("00-nan.ckpt")).isEqualTo(p(0, null, null, false, "val_loss", Double.NaN));
        assertThat(parser.parse("70-978592.125.ckpt")).isEqualTo(p(70, null, null, false, "val_loss", 978592.125));
        assertThat(parser.parse("03-0.12-v2.ckpt")).isEqualTo(p(3, null, 2, false, "val_loss", 0.12));
        NameParser best = NameParser.withPatterns(List.of("best-{epoch:02d}-{val_loss:.2f}"));
        assertThat(best.parse("best-57-6.75.ckpt")).isEqualTo(p(57, null, null, false, "val_loss", 6.75));
    }

    @Test
    void lightningFilenameCopiedAsIsAlsoMatchesAutoInsertedNames() {
        NameParser parser = NameParser.withPatterns(List.of("{epoch}-{val/loss:.2f}"));
        assertThat(parser.parse("epoch=1-val/loss=0.12.ckpt")).isEqualTo(p(1, null, null, false, "val/loss", 0.12));
        assertThat(parser.parse("1-0.12.ckpt")).isEqualTo(p(1, null, null, false, "val/loss", 0.12));
    }

    @Test
    void matchingTemplateTakesPrecedenceOverBuiltInRules() {
        // Built in, "step-12" would be a step; this user's template says the number is an epoch.
        NameParser parser = NameParser.withPatterns(List.of("step-{epoch}"));
        assertThat(parser.parse("step-12")).isEqualTo(p(12, null, null, false));
        assertThat(NameParser.standard().parse("step-12")).isEqualTo(p(null, 12L, null, false));
    }

    @Test
    void firstMatchingTemplateWinsAndUnmatchedNamesFallBackToBuiltIns() {
        NameParser parser = NameParser.withPatterns(List.of("w.{epoch}.h5", "w.{step}.h5", "model-{global_step}.pt"));
        assertThat(parser.parse("w.7.h5")).isEqualTo(p(7, null, null, false));
        assertThat(parser.parse("model-900.pt")).isEqualTo(p(null, 900L, null, false));
        assertThat(parser.parse("epoch=3-step=4.ckpt")).isEqualTo(p(3, 4L, null, false));
    }

    @Test
    void literalBracesAndRegexCharactersAreLiteral() {
        NameParser parser = NameParser.withPatterns(List.of("run{{a}}+(x)[{step:06d}].pt"));
        assertThat(parser.parse("run{a}+(x)[001200].pt")).isEqualTo(p(null, 1200L, null, false));
        assertThat(parser.parse("run{a}+(x)001200.pt").step()).isNull();
    }

    @Test
    void scientificAndGeneralFormats() {
        NameParser parser = NameParser.withPatterns(List.of("m_{loss:.3e}_{acc:g}_{lr}.pt"));
        assertThat(parser.parse("m_1.234e-05_0.5_1e-05.pt"))
                .isEqualTo(p(null, null, null, false, "loss", 1.234e-05, "acc", 0.5, "lr", 1e-05));
    }

    @Test
    void counterWithFractionalValueMakesTheTemplateNotMatch() {
        NameParser parser = NameParser.withPatterns(List.of("e{epoch:.1f}.pt"));
        assertThat(parser.parse("e3.0.pt")).isEqualTo(p(3, null, null, false));
        assertThat(parser.parse("e3.5.pt")).isEqualTo(ParsedName.EMPTY);
    }

    @Test
    void noTemplatesMeansStandard() {
        assertThat(NameParser.withPatterns(List.of())).isSameAs(NameParser.standard());
        assertThat(NameParser.withPatterns(null)).isSameAs(NameParser.standard());
    }

    static Stream<Arguments> badTemplates() {
        return Stream.of(
                arguments("", "is empty"),
                arguments("weights.hdf5", "has no {field}"),
                arguments("w.{epoch:02x}.h5", "format type 'x'"),
                arguments("w.{epoch:>3}.h5", "format spec '>3'"),
                arguments("w.{loss:,.2f}.h5", "format spec ',.2f'"),
                arguments("w.{epoch:.2d}.h5", "precision is not allowed"),
                arguments("w.{epoch.h5", "'{' at position 3 is not closed"),
                arguments("w.{ep{och}.h5", "'{' at position 3 is not closed"),
                arguments("w.epoch}.h5", "'}' at position 8 closes no field"),
                arguments("w.{}.h5", "has no name"),
                arguments("w.{:02d}.h5", "has no name"),
                arguments("w.{0}.h5", "is positional"),
                arguments("w.{loss!r}.h5", "conversions"),
                arguments("w.{epoch}{step}.h5", "directly follows another field"),
                arguments("{epoch}-{epoch}", "appears twice"),
                arguments("{step}-{global_step}", "more than one field gives the step"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("badTemplates")
    void badTemplatesAreRejectedNamingTemplateAndFault(String template, String fault) {
        assertThatThrownBy(() -> NameParser.withPatterns(List.of("epoch_{epoch}.pt", template)))
                .isInstanceOf(NamePatternException.class)
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("name pattern \"" + template + "\": ")
                .hasMessageContaining(fault)
                .satisfies(e -> assertThat(((NamePatternException) e).template()).isEqualTo(template))
                .satisfies(e -> assertThat(e.getMessage()).doesNotContain("\n"));
    }

    @Test
    void nullTemplateIsRejected() {
        assertThatThrownBy(() -> NameParser.withPatterns(java.util.Arrays.asList("{epoch}", null)))
                .isInstanceOf(NamePatternException.class)
                .hasMessageContaining("is empty");
    }
}
