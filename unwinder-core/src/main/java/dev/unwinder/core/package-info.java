/**
 * Walking frame-pointer chains and choosing an architecture plugin.
 *
 * <p>{@link dev.unwinder.core.StackWalk} has two modes. The strict mode ports Wasmtime's walker:
 * it follows the chain from a (pc, fp) pair to a known entry fp and throws
 * {@link dev.unwinder.api.UnwindException} at the first broken invariant. The lenient mode walks
 * native stacks that have no entry fp and reports, as a {@link dev.unwinder.core.WalkEnd}, where
 * and why the chain ended. {@link dev.unwinder.core.Unwinders} picks a plugin by name, alias or the
 * host's architecture.
 *
 * <p>Unless otherwise specified, passing a {@code null} argument to a constructor or method of any
 * class or interface in this package will cause a {@link java.lang.NullPointerException} to be
 * thrown.
 */
package dev.unwinder.core;
