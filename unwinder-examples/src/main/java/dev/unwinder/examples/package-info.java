/**
 * Runnable examples of embedding unwinder.
 *
 * <p>{@link dev.unwinder.examples.HostWalkExample} walks a synthetic stack in the host's layout.
 * {@link dev.unwinder.examples.LiveWalkExample} walks this process's own native frames: the
 * live-stack harness ({@code dev.unwinder.livestack.LiveStack}) descends through a small C library
 * to a chosen depth and calls back into Java at the bottom, where the frames are live.
 *
 * <p>Unless otherwise specified, passing a {@code null} argument to a constructor or method of any
 * class or interface in this package will cause a {@link java.lang.NullPointerException} to be
 * thrown.
 */
package dev.unwinder.examples;
