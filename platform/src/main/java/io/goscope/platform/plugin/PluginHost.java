package io.goscope.platform.plugin;

import static java.util.Objects.requireNonNull;

import io.goscope.api.DiscoverySource;
import io.goscope.api.ProbeSet;
import io.goscope.api.TelemetryExporter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import org.pf4j.DefaultPluginManager;
import org.pf4j.PluginManager;
import org.pf4j.PluginState;
import org.pf4j.PluginWrapper;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Loads Goscope plugins (pf4j jars) from a directory and hands out their extensions.
 *
 * <p>Which plugins run is configuration: {@code GOSCOPE_PLUGINS_ENABLED} (comma-separated plugin ids; when set,
 * only these start) and {@code GOSCOPE_PLUGINS_DISABLED} (ids that never start). A plugin that fails to load or
 * start is logged with its id and the reason and left out; the others still start.
 */
public final class PluginHost implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(PluginHost.class);

  private final Path pluginsDir;
  private final PluginManager manager;
  private volatile boolean closed;

  private PluginHost(Path pluginsDir, Set<String> enabled, Set<String> disabled) {
    this.pluginsDir = pluginsDir;
    this.manager =
        new DefaultPluginManager(pluginsDir) {
          @Override
          protected org.pf4j.PluginStatusProvider createPluginStatusProvider() {
            return new ConfiguredPluginStatus(enabled, disabled);
          }
        };
  }

  /**
   * Loads and starts the plugins in {@code pluginsDir}.
   *
   * @param enabled plugin ids to start exclusively, or empty for all
   * @param disabled plugin ids never to start
   */
  public static PluginHost start(Path pluginsDir, Set<String> enabled, Set<String> disabled) {
    requireNonNull(pluginsDir, "pluginsDir");
    if (!Files.isDirectory(pluginsDir)) {
      log.warn("plugins directory missing, running without plugins dir={}", pluginsDir);
    }
    PluginHost host = new PluginHost(pluginsDir, Set.copyOf(enabled), Set.copyOf(disabled));
    host.manager.loadPlugins();
    host.manager.startPlugins();
    for (PluginWrapper p : host.manager.getPlugins()) {
      if (p.getPluginState() == PluginState.STARTED) {
        log.info("plugin started id={} version={} path={}", p.getPluginId(),
            p.getDescriptor().getVersion(), p.getPluginPath());
      } else if (p.getPluginState() == PluginState.FAILED) {
        log.error("plugin failed id={} path={} reason={}", p.getPluginId(), p.getPluginPath(),
            p.getFailedException() == null ? "unknown" : p.getFailedException().toString());
      } else {
        log.info("plugin not started id={} state={}", p.getPluginId(), p.getPluginState());
      }
    }
    return host;
  }

  /** Parses a comma-separated id list from configuration. */
  public static Set<String> idList(String value) {
    Set<String> ids = new LinkedHashSet<>();
    if (value != null) {
      for (String s : value.split(",")) {
        if (!s.isBlank()) {
          ids.add(s.trim());
        }
      }
    }
    return ids;
  }

  public Path pluginsDir() {
    return pluginsDir;
  }

  /** Probe sets of all started plugins, in plugin order. */
  public List<ProbeSet> probeSets() {
    return extensions(ProbeSet.class);
  }

  /** Exporters of all started plugins. */
  public List<TelemetryExporter> exporters() {
    return extensions(TelemetryExporter.class);
  }

  /** Discovery sources of all started plugins (the built-in ones are added by the agent). */
  public List<DiscoverySource> discoverySources() {
    return extensions(DiscoverySource.class);
  }

  private <T> List<T> extensions(Class<T> type) {
    List<T> result = new ArrayList<>();
    for (PluginWrapper p : manager.getStartedPlugins()) {
      try {
        result.addAll(manager.getExtensions(type, p.getPluginId()));
      } catch (RuntimeException | LinkageError e) {
        log.error("plugin extensions unavailable id={} type={} reason={}", p.getPluginId(),
            type.getSimpleName(), e.toString());
      }
    }
    return result;
  }

  /** Stops and unloads every plugin. Idempotent. */
  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    try {
      manager.stopPlugins();
      manager.unloadPlugins();
    } catch (RuntimeException e) {
      log.warn("plugin shutdown failed reason={}", e.toString());
    }
  }

  private static final class ConfiguredPluginStatus implements org.pf4j.PluginStatusProvider {
    private final Set<String> enabled;
    private final Set<String> disabled;

    ConfiguredPluginStatus(Set<String> enabled, Set<String> disabled) {
      this.enabled = enabled;
      this.disabled = disabled;
    }

    @Override
    public boolean isPluginDisabled(String pluginId) {
      return disabled.contains(pluginId) || (!enabled.isEmpty() && !enabled.contains(pluginId));
    }

    @Override
    public void disablePlugin(String pluginId) {
      throw new UnsupportedOperationException("plugins are enabled by configuration, not at run time");
    }

    @Override
    public void enablePlugin(String pluginId) {
      throw new UnsupportedOperationException("plugins are enabled by configuration, not at run time");
    }
  }
}
