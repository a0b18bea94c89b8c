package io.goscope.plugins.redis;

import org.pf4j.Plugin;

/** The pf4j plugin that bundles the go-redis probe set ({@link RedisProbeSet}). Holds no state. */
public final class RedisPlugin extends Plugin {}
