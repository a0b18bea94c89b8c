package io.goscope.api;

import java.lang.annotation.Documented;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;

/**
 * Marks plugin-API surface that may still change in a minor release. Plugins may use it, but should expect to be
 * rebuilt against the next version.
 */
@Documented
@Retention(RetentionPolicy.CLASS)
public @interface Unstable {}
