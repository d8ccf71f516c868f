package dev.ckptwarden.testing;

import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.lifecycle.AddLifecycleHook;
import net.jqwik.api.lifecycle.AroundPropertyHook;
import net.jqwik.api.lifecycle.PropertyExecutionResult;
import net.jqwik.api.lifecycle.PropertyExecutor;
import net.jqwik.api.lifecycle.PropertyLifecycleContext;

import java.util.Optional;

import static org.assertj.core.api.Assertions.assertThat;

/** A jqwik property without a seed of its own runs with the suite's fixed seed, one given with it keeps its own. */
class FixedPropertySeedTest {
    private static volatile Optional<String> seen = Optional.empty();

    /** Records the seed jqwik will run the property with, just around the property. */
    public static final class RecordSeed implements AroundPropertyHook {
        @Override
        public int aroundPropertyProximity() {
            return 100;
        }

        @Override
        public PropertyExecutionResult aroundProperty(PropertyLifecycleContext context, PropertyExecutor property) {
            seen = context.attributes().seed();
            return property.execute();
        }
    }

    @Property(tries = 1)
    @AddLifecycleHook(RecordSeed.class)
    void aPropertyWithoutASeedRunsWithTheSuitesSeed(@ForAll int any) {
        String asked = System.getProperty("ckptwarden.jqwik.seed", FixedPropertySeed.DEFAULT_SEED).strip();
        assertThat(seen).isEqualTo(asked.equals("random") ? Optional.empty() : Optional.of(asked));
    }

    @Property(tries = 1, seed = "42")
    @AddLifecycleHook(RecordSeed.class)
    void aPropertyWithItsOwnSeedKeepsIt(@ForAll int any) {
        assertThat(seen).contains("42");
    }
}
