/**
 * Types shared by the walker, its architecture plugins and their users.
 *
 * <p>A walk reads a {@link dev.unwinder.api.StackMemory} with the layout knowledge of one
 * {@link dev.unwinder.api.Unwind} and hands each {@link dev.unwinder.api.Frame} to a
 * {@link dev.unwinder.api.FrameVisitor}, which answers with a {@link dev.unwinder.api.ControlFlow}.
 * Bad stack contents end a strict walk with an {@link dev.unwinder.api.UnwindException}.
 * Addresses are unsigned 64-bit values held in {@code long}s throughout.
 *
 * <p>Unless otherwise specified, passing a {@code null} argument to a constructor or method of any
 * class or interface in this package will cause a {@link java.lang.NullPointerException} to be
 * thrown.
 */
package dev.unwinder.api;
