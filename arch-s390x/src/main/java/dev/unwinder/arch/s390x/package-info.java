/**
 * The s390x backchain frame layout: {@link dev.unwinder.arch.s390x.S390xUnwind}.
 *
 * <p>Unless otherwise specified, passing a {@code null} argument to a constructor or method of any
 * class or interface in this package will cause a {@link java.lang.NullPointerException} to be
 * thrown.
 */
package dev.unwinder.arch.s390x;
