/** {@link dev.unwinder.testkit.SyntheticStack}: reproducible stacks of N frames in any layout. */
package dev.unwinder.testkit;
