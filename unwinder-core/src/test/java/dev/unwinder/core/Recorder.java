package dev.unwinder.core;

import dev.unwinder.api.ControlFlow;
import dev.unwinder.api.Frame;
import dev.unwinder.api.FrameVisitor;
import java.util.ArrayList;
import java.util.List;

/** A visitor that keeps a snapshot of every frame, and can stop at a given index. */
final class Recorder implements FrameVisitor<String> {
    final List<Frame> frames = new ArrayList<>();
    private final int breakAt;

    Recorder() {
        this(-1);
    }

    Recorder(int breakAt) {
        this.breakAt = breakAt;
    }

    @Override
    public ControlFlow<String> visit(Frame frame) {
        frames.add(frame.snapshot());
        return frame.index() == breakAt ? ControlFlow.breakWith("stopped at 0x" + Long.toHexString(frame.pc()))
                : ControlFlow.continueWalk();
    }

    List<Long> pcs() {
        return frames.stream().map(Frame::pc).toList();
    }

    List<Long> fps() {
        return frames.stream().map(Frame::fp).toList();
    }
}
