/**
 * {@link dev.unwinder.testkit.SyntheticStack}: reproducible stacks of N frames in any layout;
 * {@link dev.unwinder.testkit.PluginConformance}: the checks every plugin must pass;
 * {@link dev.unwinder.testkit.ReleasePlugins}: the names of this release's plugins.
 *
 * <p>Unless otherwise specified, passing a {@code null} argument to a constructor or method of any
 * class or interface in this package will cause a {@link java.lang.NullPointerException} to be
 * thrown.
 */
package dev.unwinder.testkit;
