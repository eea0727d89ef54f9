/**
 * JMH benchmarks of unwinder's walks against a plain-Java baseline, and the CI gate that compares
 * ratios measured in one run. Not shipped.
 */
package dev.unwinder.benchmarks;
