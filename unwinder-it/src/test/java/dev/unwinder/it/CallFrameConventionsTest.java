package dev.unwinder.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.unwinder.api.CallFrameConventions;
import dev.unwinder.api.Unwind;
import dev.unwinder.core.Unwinders;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** Every release plugin gives call-frame conventions that agree with its own frame layout. */
final class CallFrameConventionsTest {

    @Test
    void everyPluginsConventionsAgreeWithItsLayout() {
        for (Unwind unwind : Unwinders.available()) {
            CallFrameConventions conventions = unwind.callFrameConventions().orElseThrow(
                    () -> new AssertionError(unwind.name() + " gives no call-frame conventions"));
            String name = unwind.name();
            assertEquals(unwind.stackPointerRegister(), conventions.stackPointer(), name);
            unwind.linkRegister().ifPresent(lr -> assertEquals(lr, conventions.returnAddressColumn(), name));
            assertTrue(conventions.isCalleeSaved(conventions.stackPointer()), name);
            assertEquals(unwind.linkRegister().isEmpty(), conventions.entryReturnAddressOnStack(), name);
            assertEquals(conventions.cfaAboveCallerSp(), conventions.entryCfaOffset()
                    - (conventions.entryReturnAddressOnStack() ? unwind.wordSize() : 0), name);
            conventions.framePointer().ifPresent(fp -> assertTrue(conventions.isCalleeSaved(fp), name));
            assertTrue(!conventions.signalFrames().isEmpty(), name);
            for (CallFrameConventions.SignalFrame frame : conventions.signalFrames()) {
                // Saved registers are distinct, aligned words, and the sp and the pc are among them.
                Set<Integer> offsets = new HashSet<>();
                offsets.add(frame.pcOffset());
                for (int r = 0; r < conventions.registerCount(); r++) {
                    int offset = frame.registerOffset(r);
                    if (offset >= 0) {
                        assertTrue(offsets.add(offset), name + ": register " + r + " shares offset " + offset);
                        assertEquals(0, offset % unwind.wordSize(), name);
                    }
                }
                assertTrue(frame.registerOffset(conventions.stackPointer()) >= 0, name);
                assertEquals(0, frame.pcOffset() % unwind.wordSize(), name);
            }
        }
    }

    @Test
    void s390xAloneHasNoFramePointerFallback() {
        assertTrue(Unwinders.forArch("s390x").callFrameConventions().orElseThrow().framePointer().isEmpty());
        assertEquals(6, Unwinders.forArch("x86_64").callFrameConventions().orElseThrow().framePointer().getAsInt());
        assertEquals(29, Unwinders.forArch("aarch64").callFrameConventions().orElseThrow().framePointer().getAsInt());
        assertEquals(8, Unwinders.forArch("riscv64").callFrameConventions().orElseThrow().framePointer().getAsInt());
    }
}
