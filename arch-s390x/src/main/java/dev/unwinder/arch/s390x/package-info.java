/** The s390x backchain frame layout: {@link dev.unwinder.arch.s390x.S390xUnwind}. */
package dev.unwinder.arch.s390x;
