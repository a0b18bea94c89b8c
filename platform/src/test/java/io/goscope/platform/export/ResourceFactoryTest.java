package io.goscope.platform.export;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import io.goscope.api.ProcessInfo;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.sdk.autoconfigure.spi.internal.DefaultConfigProperties;
import io.opentelemetry.sdk.resources.Resource;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ResourceFactoryTest {
  private static final AttributeKey<String> ENV = AttributeKey.stringKey("deployment.environment.name");
  private static final AttributeKey<String> POD = AttributeKey.stringKey("k8s.pod.name");

  private static ProcessInfo process(Map<String, String> env) {
    return new ProcessInfo(4242, List.of(4242, 7), "/app/bin/checkout", List.of("/app/bin/checkout", "-v"), env,
        123L, "abc123", "pod-uid-1");
  }

  private static ResourceFactory factory(Map<String, String> agentProps) {
    return new ResourceFactory(DefaultConfigProperties.createFromMap(agentProps), "node-1", "0.1.0");
  }

  @Test
  void defaultsToExecutableNameAndProcessFacts() {
    Resource r = factory(Map.of()).create(process(Map.of()), "go1.19.8", Attributes.empty());
    assertEquals("checkout", r.getAttribute(ResourceFactory.SERVICE_NAME));
    assertEquals(4242L, r.getAttribute(ResourceFactory.PROCESS_PID));
    assertEquals("checkout", r.getAttribute(ResourceFactory.PROCESS_EXECUTABLE_NAME));
    assertEquals("/app/bin/checkout", r.getAttribute(ResourceFactory.PROCESS_EXECUTABLE_PATH));
    assertEquals("go", r.getAttribute(ResourceFactory.PROCESS_RUNTIME_NAME));
    assertEquals("go1.19.8", r.getAttribute(ResourceFactory.PROCESS_RUNTIME_VERSION));
    assertEquals("abc123", r.getAttribute(ResourceFactory.CONTAINER_ID));
    assertEquals("pod-uid-1", r.getAttribute(ResourceFactory.K8S_POD_UID));
    assertEquals("node-1", r.getAttribute(ResourceFactory.HOST_NAME));
    assertEquals("go", r.getAttribute(ResourceFactory.TELEMETRY_SDK_LANGUAGE));
    assertEquals("goscope", r.getAttribute(ResourceFactory.TELEMETRY_DISTRO_NAME));
  }

  @Test
  void deletedExecutableIsReportedByThePathItWasStartedFrom() {
    ProcessInfo replaced = new ProcessInfo(4242, List.of(4242), "/var/lib/apm-binaries/checkout (deleted)",
        List.of("/var/lib/apm-binaries/checkout"), Map.of(), 123L, null, null);
    Resource r = factory(Map.of()).create(replaced, "go1.19.8", Attributes.empty());
    assertEquals("/var/lib/apm-binaries/checkout", r.getAttribute(ResourceFactory.PROCESS_EXECUTABLE_PATH),
        "no kernel mark in the attribute, as os.Executable reports it");
    assertEquals("checkout", r.getAttribute(ResourceFactory.PROCESS_EXECUTABLE_NAME));
    assertEquals("checkout", r.getAttribute(ResourceFactory.SERVICE_NAME));
  }

  @Test
  void agentWideAttributesApplyButAgentWideServiceNameDoesNot() {
    ResourceFactory f = factory(Map.of(
        "otel.service.name", "daemonset",
        "otel.resource.attributes", "deployment.environment.name=prod,service.name=also-ignored,host.name=n7"));
    Resource r = f.create(process(Map.of()), null, Attributes.empty());
    assertEquals("checkout", r.getAttribute(ResourceFactory.SERVICE_NAME));
    assertEquals("prod", r.getAttribute(ENV));
    assertEquals("n7", r.getAttribute(ResourceFactory.HOST_NAME));
    assertNull(r.getAttribute(ResourceFactory.PROCESS_RUNTIME_VERSION));
  }

  @Test
  void discoveredServiceNameBeatsExecutableName() {
    Resource r = factory(Map.of()).create(process(Map.of()), "go1.19.8",
        Attributes.of(ResourceFactory.SERVICE_NAME, "checkout-svc", POD, "checkout-7d9f"));
    assertEquals("checkout-svc", r.getAttribute(ResourceFactory.SERVICE_NAME));
    assertEquals("checkout-7d9f", r.getAttribute(POD));
  }

  @Test
  void targetEnvironmentWinsOverDiscoveryAndAgentButNotOverProcessFacts() {
    ResourceFactory f = factory(Map.of("otel.resource.attributes", "deployment.environment.name=prod"));
    Resource r = f.create(
        process(Map.of(
            "OTEL_SERVICE_NAME", "payments",
            "OTEL_RESOURCE_ATTRIBUTES", "deployment.environment.name=staging,service.name=x,process.pid=1")),
        "go1.19.8",
        Attributes.of(ResourceFactory.SERVICE_NAME, "checkout-svc"));
    assertEquals("payments", r.getAttribute(ResourceFactory.SERVICE_NAME));
    assertEquals("staging", r.getAttribute(ENV));
    assertEquals(4242L, r.getAttribute(ResourceFactory.PROCESS_PID));
  }

  @Test
  void targetResourceAttributesServiceNameIsUsedWithoutOtelServiceName() {
    Resource r = factory(Map.of()).create(
        process(Map.of("OTEL_RESOURCE_ATTRIBUTES", "service.name=from-attrs")), null, Attributes.empty());
    assertEquals("from-attrs", r.getAttribute(ResourceFactory.SERVICE_NAME));
  }

  @Test
  void malformedTargetEnvironmentIsIgnored() {
    Resource r = factory(Map.of()).create(
        process(Map.of("OTEL_RESOURCE_ATTRIBUTES", "no-equals-sign,=,%zz=1")), null, Attributes.empty());
    assertEquals("checkout", r.getAttribute(ResourceFactory.SERVICE_NAME));
  }
}
