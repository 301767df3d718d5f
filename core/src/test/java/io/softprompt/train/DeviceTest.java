package io.softprompt.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.ndarray.BaseNDManager;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.softprompt.Fixtures;
import io.softprompt.data.Task;
import io.softprompt.eval.Metrics;
import io.softprompt.loader.LoadedModel;
import java.io.IOException;
import java.lang.reflect.Method;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/**
 * Every array of a training step's forward and backward lives on the model's device, in the model's
 * or the trainer's NDManager tree: none in a manager made on the default device. The device is
 * -Dsoftprompt.test.device (default cpu; run with gpu on a machine that has one). On CPU the device
 * check holds trivially; what fails here on CPU is an array in a stray manager (one made with
 * NDManager.newBaseManager() and no device, which on a GPU machine would be the first GPU), and the
 * source scan below, which refuses such calls outright.
 */
class DeviceTest {
    static final String DEVICE = System.getProperty("softprompt.test.device", "cpu");

    /** Every array alive in the process (all of DJL's PyTorch managers hang under its system manager). */
    static List<NDArray> live() throws Exception {
        Class<?> pt = Class.forName("ai.djl.pytorch.engine.PtNDManager");
        Method system = pt.getDeclaredMethod("getSystemManager");
        system.setAccessible(true);
        return ((BaseNDManager) system.invoke(null)).getManagedArrays();
    }

    /** The manager right under the system manager that holds x. */
    static NDManager root(NDArray x) {
        NDManager m = x.getManager();
        while (m.getParentManager() != null && m.getParentManager().getParentManager() != null) {
            m = m.getParentManager();
        }
        return m;
    }

    @TestFactory
    Stream<DynamicTest> everyArrayOfAStepIsOnTheModelsDevice() {
        return Stream.of("gpt2", "t5", "bert").map(arch -> DynamicTest.dynamicTest(arch, () -> {
            Set<String> before = new HashSet<>();
            for (NDArray a : live()) {
                before.add(a.getUid());
            }
            try (LoadedModel m = LoadedModel.load(Fixtures.of(arch), arch, DEVICE, "auto")) {
                Device device = m.device();
                List<String> seen = new ArrayList<>();
                Set<NDManager> roots = new HashSet<>();
                roots.add(m.manager());
                int[] audited = new int[1];
                Trainer.Listener audit = new Trainer.Listener() {
                    void check(String when, NDArray inTrainer) {
                        roots.add(root(inTrainer));
                        try {
                            for (NDArray a : live()) {
                                if (before.contains(a.getUid()) || a.isReleased()) {
                                    continue;
                                }
                                audited[0]++;
                                if (!device.equals(a.getDevice()) || !device.equals(a.getManager().getDevice())) {
                                    seen.add(when + ": " + a.getShape() + " on " + a.getDevice() + " (manager on "
                                            + a.getManager().getDevice() + ")");
                                }
                                if (!roots.contains(root(a))) {
                                    seen.add(when + ": " + a.getShape() + " in a manager outside the model's and the trainer's");
                                }
                            }
                        } catch (Exception e) {
                            throw new IllegalStateException(e);
                        }
                    }

                    @Override
                    public NDArray loss(int step, NDArray loss) {
                        check("forward of step " + step, loss);   // the whole forward graph is alive here
                        return loss;
                    }

                    @Override
                    public void onStep(Trainer.Step s) {}

                    @Override
                    public void onEval(int step, Metrics dev, boolean best) {}
                };
                Task t = PackTest.task("mood", "{sentence} it was", " bad", " good");
                Trainer.Run r = PackTest.run(m, t, 2, 3, "adamw", "verbalizer", 1, 4, 1, 2);
                Trainer.Run two = PackTest.run(m, t, 2, 2, "adafactor", "lm", 2, 2, 1, 2);
                List<Trainer.Run> runs = new ArrayList<>();
                for (Trainer.Run x : List.of(r, two)) {
                    runs.add(new Trainer.Run(x.plan(), x.encoder(), x.train(), x.eval(), x.devSize(), x.init(), audit, x.context()));
                }
                Trainer.trainPack(m.lm(), runs.subList(0, 1), 0);   // the solo path
                Trainer.trainPack(m.lm(), runs, 0);                 // the packed path
                System.out.printf("DEVICE %s on %s: %d arrays of forward passes audited, %d elsewhere%n", arch, device, audited[0],
                        seen.size());
                assertTrue(audited[0] > 50, "the audit saw the forward graphs: " + audited[0]);
                assertEquals(List.of(), seen.subList(0, Math.min(5, seen.size())));
            }
        }));
    }

    /** No array-making manager on the default device in the library: each names the model's device. */
    @Test
    void noManagerIsMadeOnTheDefaultDevice() throws IOException {
        List<String> offenders = new ArrayList<>();
        for (Path root : List.of(Path.of("src/main/java"), Path.of("../cli/src/main/java"))) {
            try (Stream<Path> files = Files.walk(root)) {
                for (Path f : files.filter(p -> p.toString().endsWith(".java")).toList()) {
                    List<String> lines = Files.readAllLines(f);
                    for (int i = 0; i < lines.size(); i++) {
                        if (lines.get(i).contains("newBaseManager()")) {
                            offenders.add(f + ":" + (i + 1));
                        }
                    }
                }
            }
        }
        assertEquals(List.of(), offenders, "NDManager.newBaseManager() without the model's device");
    }
}
