/**
 * {@link dev.unwinder.process.LiveProcess}: the threads of a live process, each stopped only while
 * its registers and stack are copied, and never left stopped.
 *
 * <p>Unless otherwise specified, passing a {@code null} argument to a constructor or method of any
 * class or interface in this package will cause a {@link java.lang.NullPointerException} to be
 * thrown.
 */
package dev.unwinder.process;
