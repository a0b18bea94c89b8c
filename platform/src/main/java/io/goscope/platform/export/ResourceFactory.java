package io.goscope.platform.export;

import static java.util.Objects.requireNonNull;

import io.goscope.api.Nullable;
import io.goscope.api.ProcessInfo;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.api.common.AttributesBuilder;
import io.opentelemetry.sdk.autoconfigure.ResourceConfiguration;
import io.opentelemetry.sdk.autoconfigure.spi.ConfigProperties;
import io.opentelemetry.sdk.autoconfigure.spi.ConfigurationException;
import io.opentelemetry.sdk.autoconfigure.spi.internal.DefaultConfigProperties;
import io.opentelemetry.sdk.resources.Resource;
import java.io.IOException;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Builds the OpenTelemetry {@link Resource} of one traced process.
 *
 * <p>Precedence, lowest first (a later source overrides an earlier one for the same key):
 * <ol>
 *   <li>agent defaults: {@code host.name}, {@code telemetry.sdk.language=go}, {@code telemetry.distro.*};
 *   <li>the agent's own {@code OTEL_RESOURCE_ATTRIBUTES} / {@code otel.resource.attributes}, read through the SDK's
 *       autoconfigure, applied to every process — <em>except {@code service.name}</em>: an agent-wide
 *       {@code OTEL_SERVICE_NAME} (e.g. set on a DaemonSet) would give every traced application the same name, so it
 *       is ignored (logged once);
 *   <li>attributes from discovery (e.g. {@code k8s.*}, or a {@code service.name} derived from workload metadata);
 *   <li>the target process's own {@code OTEL_RESOURCE_ATTRIBUTES} and then {@code OTEL_SERVICE_NAME}, from its
 *       environment: the application owner's explicit choice wins;
 *   <li>process facts, which nothing can override: {@code process.pid} (host pid namespace),
 *       {@code process.executable.name}, {@code process.executable.path}, {@code process.runtime.name=go},
 *       {@code process.runtime.version}, {@code container.id}, {@code k8s.pod.uid};
 *   <li>when still no {@code service.name}: the executable name.
 * </ol>
 * Thread-safe.
 */
public final class ResourceFactory {
  public static final AttributeKey<String> SERVICE_NAME = AttributeKey.stringKey("service.name");
  public static final AttributeKey<Long> PROCESS_PID = AttributeKey.longKey("process.pid");
  public static final AttributeKey<String> PROCESS_EXECUTABLE_NAME =
      AttributeKey.stringKey("process.executable.name");
  public static final AttributeKey<String> PROCESS_EXECUTABLE_PATH =
      AttributeKey.stringKey("process.executable.path");
  public static final AttributeKey<String> PROCESS_RUNTIME_NAME = AttributeKey.stringKey("process.runtime.name");
  public static final AttributeKey<String> PROCESS_RUNTIME_VERSION =
      AttributeKey.stringKey("process.runtime.version");
  public static final AttributeKey<String> CONTAINER_ID = AttributeKey.stringKey("container.id");
  public static final AttributeKey<String> K8S_POD_UID = AttributeKey.stringKey("k8s.pod.uid");
  public static final AttributeKey<String> HOST_NAME = AttributeKey.stringKey("host.name");
  public static final AttributeKey<String> TELEMETRY_SDK_LANGUAGE = AttributeKey.stringKey("telemetry.sdk.language");
  public static final AttributeKey<String> TELEMETRY_DISTRO_NAME = AttributeKey.stringKey("telemetry.distro.name");
  public static final AttributeKey<String> TELEMETRY_DISTRO_VERSION =
      AttributeKey.stringKey("telemetry.distro.version");

  private static final Logger log = LoggerFactory.getLogger(ResourceFactory.class);
  private static final String TARGET_SERVICE_NAME_ENV = "OTEL_SERVICE_NAME";
  private static final String TARGET_RESOURCE_ATTRIBUTES_ENV = "OTEL_RESOURCE_ATTRIBUTES";
  /** Bound on what we accept from a target's environment; /proc environ is untrusted input. */
  private static final int MAX_TARGET_ENV_VALUE = 8192;

  private final Resource agentResource;

  /**
   * @param agentConfig the agent's configuration ({@code OTEL_*} environment, {@code otel.*} properties)
   * @param hostName the node's name for {@code host.name}; the agent's {@code OTEL_RESOURCE_ATTRIBUTES} may override
   * @param distroVersion Goscope's version for {@code telemetry.distro.version}
   */
  public ResourceFactory(ConfigProperties agentConfig, String hostName, String distroVersion) {
    requireNonNull(agentConfig, "agentConfig");
    requireNonNull(hostName, "hostName");
    requireNonNull(distroVersion, "distroVersion");
    Resource env = ResourceConfiguration.createEnvironmentResource(agentConfig);
    String agentServiceName = env.getAttribute(SERVICE_NAME);
    if (agentServiceName != null) {
      log.info("ignoring agent-wide service.name={} for traced processes: each process is named from its own "
          + "OTEL_SERVICE_NAME, workload metadata or executable", agentServiceName);
    }
    Resource defaults = Resource.create(Attributes.of(
        HOST_NAME, hostName,
        TELEMETRY_SDK_LANGUAGE, "go",
        TELEMETRY_DISTRO_NAME, "goscope",
        TELEMETRY_DISTRO_VERSION, distroVersion));
    this.agentResource = defaults.merge(Resource.create(
        env.getAttributes().toBuilder().remove(SERVICE_NAME).build(), env.getSchemaUrl()));
  }

  /** A factory using this machine's host name (from {@code /proc/sys/kernel/hostname}). */
  public static ResourceFactory create(ConfigProperties agentConfig, String distroVersion) {
    return new ResourceFactory(agentConfig, localHostName(), distroVersion);
  }

  /** The attributes every process resource starts from. */
  public Resource agentResource() {
    return agentResource;
  }

  /**
   * Builds a process's resource.
   *
   * @param process the traced process
   * @param goVersion the Go toolchain version from the binary's build info, e.g. {@code go1.19.8}, or null
   * @param discovered attributes found by discovery (Kubernetes metadata, derived service name)
   */
  public Resource create(ProcessInfo process, @Nullable String goVersion, Attributes discovered) {
    requireNonNull(process, "process");
    requireNonNull(discovered, "discovered");
    AttributesBuilder facts = Attributes.builder()
        .put(PROCESS_PID, (long) process.pid())
        .put(PROCESS_EXECUTABLE_NAME, process.executableName())
        .put(PROCESS_EXECUTABLE_PATH, process.executablePath())
        .put(PROCESS_RUNTIME_NAME, "go");
    if (goVersion != null && !goVersion.isEmpty()) {
      facts.put(PROCESS_RUNTIME_VERSION, goVersion);
    }
    if (process.containerId() != null) {
      facts.put(CONTAINER_ID, process.containerId());
    }
    if (process.podUid() != null) {
      facts.put(K8S_POD_UID, process.podUid());
    }
    Resource merged = agentResource
        .merge(Resource.create(discovered))
        .merge(targetEnvironmentResource(process))
        .merge(Resource.create(facts.build()));
    String serviceName = merged.getAttribute(SERVICE_NAME);
    if (serviceName == null || serviceName.isEmpty()) {
      merged = merged.merge(Resource.create(Attributes.of(SERVICE_NAME, process.executableName())));
    }
    return merged;
  }

  private static Resource targetEnvironmentResource(ProcessInfo process) {
    Map<String, String> env = process.environment();
    Map<String, String> props = new HashMap<>();
    copy(env, TARGET_SERVICE_NAME_ENV, "otel.service.name", props);
    copy(env, TARGET_RESOURCE_ATTRIBUTES_ENV, "otel.resource.attributes", props);
    if (props.isEmpty()) {
      return Resource.empty();
    }
    try {
      return ResourceConfiguration.createEnvironmentResource(DefaultConfigProperties.createFromMap(props));
    } catch (ConfigurationException | IllegalArgumentException e) {
      log.info("ignoring malformed OTEL_* resource variables of traced process pid={} exe={}: {}", process.pid(),
          process.executableName(), e.getMessage());
      return Resource.empty();
    }
  }

  private static void copy(Map<String, String> env, String var, String property, Map<String, String> props) {
    String value = env.get(var);
    if (value != null && !value.isBlank() && value.length() <= MAX_TARGET_ENV_VALUE) {
      props.put(property, value);
    }
  }

  private static String localHostName() {
    try {
      String name = Files.readString(Path.of("/proc/sys/kernel/hostname")).trim();
      if (!name.isEmpty()) {
        return name;
      }
    } catch (IOException | RuntimeException e) {
      log.debug("read /proc/sys/kernel/hostname failed: {}", e.toString());
    }
    try {
      return InetAddress.getLocalHost().getHostName();
    } catch (IOException e) {
      return "unknown";
    }
  }
}
