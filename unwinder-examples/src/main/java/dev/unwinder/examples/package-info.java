/**
 * Runnable examples of embedding unwinder, and the live native stack they walk.
 *
 * <p>{@link dev.unwinder.examples.HostWalkExample} walks a synthetic stack in the host's layout.
 * {@link dev.unwinder.examples.LiveWalkExample} walks this process's own native frames:
 * {@link dev.unwinder.examples.LiveStack} descends through a small C library to a chosen depth and
 * calls back into Java at the bottom, where the frames are live. {@code LiveStack} is also the
 * binding that benchmarks reuse to compare walks of the same live stack.
 */
package dev.unwinder.examples;
