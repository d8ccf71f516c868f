package dev.ckptwarden;

import static com.tngtech.archunit.base.DescribedPredicate.describe;
import static com.tngtech.archunit.core.domain.JavaClass.Predicates.resideInAnyPackage;
import static com.tngtech.archunit.core.domain.JavaClass.Predicates.resideOutsideOfPackage;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static com.tngtech.archunit.library.Architectures.layeredArchitecture;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;

import com.tngtech.archunit.base.DescribedPredicate;
import com.tngtech.archunit.core.domain.JavaClass;
import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.domain.JavaMethodCall;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import org.junit.jupiter.api.Test;

import java.util.Map;
import java.util.Set;

/**
 * The package graph and the layering the code promises a reader (the pass pipeline
 * {@code watch → catalog → registry → policy → enforce → export}, with {@code config}, {@code cli} and
 * {@code daemon} at the edges), checked on the compiled production classes.
 */
class ArchitectureTest {

    private static final String ROOT = "dev.ckptwarden";

    /** Imported once: every rule reads the same production classes (tests left out). */
    private static final JavaClasses PRODUCTION = new ClassFileImporter()
            .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
            .importPackages(ROOT);

    /**
     * The classes that remove checkpoint files: the three backends of the one deletion protocol, local
     * (the trash purge, through {@code unlinkat}), SFTP and S3.
     */
    private static final Set<String> CHECKPOINT_DELETERS = Set.of(
            ROOT + ".enforce.TrashBin",
            ROOT + ".enforce.SftpTrash",
            ROOT + ".enforce.S3Trash");

    /**
     * Classes that delete files which are never checkpoints: each deletes only files it made itself, for
     * the reason given. A class that is to delete something must be added here with its reason, or go
     * through enforcement.
     */
    private static final Map<String, String> OWN_FILE_DELETERS = Map.of(
            ROOT + ".enforce.PolicyChangeFile", "its own file in state_dir and that file's temporary copy",
            ROOT + ".enforce.ManifestKey", "its own key file in state_dir when it is empty, and that file's temporary copies",
            ROOT + ".registry.RegistryExport", "the temporary file of an export it writes",
            ROOT + ".registry.JournaledRegistry", "the registry.lost hold file in state_dir",
            ROOT + ".registry.SqliteNativeLibrary", "a partial copy of the SQLite native library it extracts",
            ROOT + ".cli.ResolveCommand", "the throw-away registry it creates in a temporary directory",
            ROOT + ".offload.Offloader", "a remote copy it made itself, when that copy is discarded",
            ROOT + ".remote.s3.S3FileObject", "S3's FileObject.delete: what it deletes is chosen by callers this rule checks");

    @Test
    void packagesFormNoCycle() {
        slices().matching(ROOT + ".(*)..").should().beFreeOfCycles().check(PRODUCTION);
    }

    @Test
    void catalogDependsOnNothingButConfig() {
        noClasses().that().resideInAPackage(ROOT + ".catalog..")
                .should().dependOnClassesThat(resideInAnyPackage(ROOT + "..")
                        .and(resideOutsideOfPackage(ROOT + ".catalog.."))
                        .and(resideOutsideOfPackage(ROOT + ".config.."))
                        .and(resideOutsideOfPackage(ROOT + ".errors..")))
                .check(PRODUCTION);
    }

    /** {@code errors} is below every layer (it is in none, so any may use it): it must depend on none of them. */
    @Test
    void errorsDependsOnNothingOfTheAgent() {
        noClasses().that().resideInAPackage(ROOT + ".errors..")
                .should().dependOnClassesThat(resideInAnyPackage(ROOT + "..")
                        .and(resideOutsideOfPackage(ROOT + ".errors..")))
                .check(PRODUCTION);
    }

    @Test
    void dependenciesFollowThePipeline() {
        layeredArchitecture().consideringOnlyDependenciesInLayers()
                .layer("config").definedBy(ROOT + ".config..")
                .layer("catalog").definedBy(ROOT + ".catalog..")
                .layer("registry").definedBy(ROOT + ".registry..")
                .layer("policy").definedBy(ROOT + ".policy..")
                .optionalLayer("remote").definedBy(ROOT + ".remote..")
                .layer("offload").definedBy(ROOT + ".offload..")
                .layer("watch").definedBy(ROOT + ".watch..")
                .layer("enforce").definedBy(ROOT + ".enforce..")
                .layer("export").definedBy(ROOT + ".export..")
                .layer("daemon").definedBy(ROOT + ".daemon..")
                .layer("cli").definedBy(ROOT + ".cli..")
                .whereLayer("config").mayNotAccessAnyLayer()
                .whereLayer("catalog").mayOnlyAccessLayers("config")
                .whereLayer("registry").mayOnlyAccessLayers("catalog", "config")
                .whereLayer("policy").mayOnlyAccessLayers("registry", "catalog", "config")
                .whereLayer("remote").mayOnlyAccessLayers("catalog", "config")
                .whereLayer("offload").mayOnlyAccessLayers("remote", "registry", "catalog", "config")
                .whereLayer("watch").mayOnlyAccessLayers("remote", "registry", "catalog", "config")
                .whereLayer("enforce").mayOnlyAccessLayers("offload", "remote", "policy", "registry", "catalog", "config")
                .whereLayer("export").mayOnlyAccessLayers("enforce", "watch", "offload", "remote", "policy", "registry",
                        "catalog", "config")
                .whereLayer("daemon").mayOnlyAccessLayers("export", "enforce", "watch", "offload", "remote", "policy",
                        "registry", "catalog", "config")
                .whereLayer("cli").mayOnlyAccessLayers("daemon", "export", "enforce", "watch", "offload", "remote",
                        "policy", "registry", "catalog", "config")
                .check(PRODUCTION);
    }

    @Test
    void policyTouchesNoFiles() {
        noClasses().that().resideInAPackage(ROOT + ".policy..")
                .should().dependOnClassesThat(accessFilesOrDatabases())
                .because("policy is a pure function of the checkpoints, the retention and the time it is given")
                .check(PRODUCTION);
    }

    @Test
    void policyReadsNoClock() {
        noClasses().that().resideInAPackage(ROOT + ".policy..")
                .should().callMethodWhere(readsTheSystemClock())
                .orShould().dependOnClassesThat().haveFullyQualifiedName(ROOT + ".registry.Registry")
                .because("policy takes 'now' as an argument, so a decision can be replayed for any time")
                .check(PRODUCTION);
    }

    /**
     * A registry row (pin, first seen, state since, a deleted or offloaded state) is made only by the registry:
     * reading a row, or merging what the catalog found into the row it had ({@code Registered.merge}). Nothing
     * else can invent one, and the catalog's own result ({@code Checkpoint}, {@code Recognised}) has no place
     * for a pin or a registry time at all.
     */
    @Test
    void onlyTheRegistryMakesRegistryRows() {
        noClasses().that().resideOutsideOfPackage(ROOT + ".registry..")
                .should().callConstructorWhere(describe("makes a registry.Registered",
                        call -> call.getTargetOwner().getName().equals(ROOT + ".registry.Registered")))
                .because("a row's pin and history come from the registry; others derive rows from the rows they read")
                .check(PRODUCTION);
    }

    @Test
    void onlyEnforcementDeletesCheckpointFiles() {
        noClasses().that(describe("are not deletion classes of enforce nor listed as deleting only their own files",
                        (JavaClass c) -> !listed(c, CHECKPOINT_DELETERS) && !listed(c, OWN_FILE_DELETERS.keySet())))
                .should().callMethodWhere(deletesFiles())
                .because("checkpoint files are removed only through enforcement's guarded, audited protocol")
                .check(PRODUCTION);
    }

    /** Whether {@code c} or the class it is nested in (its lambdas, inner classes) is one of {@code names}. */
    private static boolean listed(JavaClass c, Set<String> names) {
        String name = c.getName();
        int nested = name.indexOf('$');
        return names.contains(nested < 0 ? name : name.substring(0, nested));
    }

    /** Calls that remove a file or directory, local or remote. */
    private static DescribedPredicate<JavaMethodCall> deletesFiles() {
        return describe("removes a file (Files.delete*, SecureDirectoryStream.delete*, File.delete, "
                + "FileObject.delete*, S3 deleteObject*)", call -> {
            JavaClass owner = call.getTargetOwner();
            String method = call.getName();
            return owner.isAssignableTo("java.nio.file.Files") && method.startsWith("delete")
                    || owner.isAssignableTo("java.nio.file.spi.FileSystemProvider") && method.startsWith("delete")
                    || owner.isAssignableTo("java.nio.file.SecureDirectoryStream") && method.startsWith("delete")
                    || owner.isAssignableTo("java.io.File") && method.startsWith("delete")
                    || owner.isAssignableTo("org.apache.commons.vfs2.FileObject") && method.startsWith("delete")
                    || owner.getPackageName().startsWith("software.amazon.awssdk.services.s3")
                    && method.startsWith("deleteObject");
        });
    }

    /** Calls that read the time or clock of the machine instead of an injected {@link java.time.Clock}. */
    private static DescribedPredicate<JavaMethodCall> readsTheSystemClock() {
        return describe("reads the system clock (Clock.system*, System.currentTimeMillis/nanoTime, now())", call -> {
            String owner = call.getTargetOwner().getName();
            String method = call.getName();
            return owner.equals("java.time.Clock") && method.startsWith("system")
                    || owner.equals("java.lang.System") && (method.equals("currentTimeMillis") || method.equals("nanoTime"))
                    || owner.startsWith("java.time.") && method.equals("now")
                    && call.getTarget().getRawParameterTypes().isEmpty();
        });
    }

    /** Types through which code reads or writes files or a database (paths and path matching are fine). */
    private static DescribedPredicate<JavaClass> accessFilesOrDatabases() {
        Set<String> fileTypes = Set.of("java.nio.file.Files", "java.nio.file.spi.FileSystemProvider",
                "java.nio.file.DirectoryStream", "java.nio.channels.FileChannel", "java.io.File",
                "java.io.FileInputStream", "java.io.FileOutputStream", "java.io.FileReader", "java.io.FileWriter",
                "java.io.RandomAccessFile");
        return describe("read or write files or a database (Files, FileChannel, java.io.File*, java.sql)",
                c -> fileTypes.contains(c.getName()) || c.getPackageName().startsWith("java.sql")
                        || c.getPackageName().startsWith("org.apache.commons.vfs2"));
    }
}
