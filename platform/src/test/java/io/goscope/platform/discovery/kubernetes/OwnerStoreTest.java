package io.goscope.platform.discovery.kubernetes;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fabric8.kubernetes.api.model.apps.ReplicaSet;
import io.fabric8.kubernetes.api.model.apps.ReplicaSetBuilder;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.api.model.batch.v1.JobBuilder;
import io.fabric8.kubernetes.client.utils.Serialization;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class OwnerStoreTest {
  static ReplicaSet fullReplicaSet(String namespace, String name, int envVars) {
    ReplicaSetBuilder b = new ReplicaSetBuilder();
    b.withNewMetadata().withNamespace(namespace).withName(name).withUid("uid-" + name).withResourceVersion("42")
        .withLabels(Map.of("app", "web", "pod-template-hash", "5d8f7c"))
        .withAnnotations(Map.of("deployment.kubernetes.io/revision", "3"))
        .addNewOwnerReference().withApiVersion("apps/v1").withKind("Deployment").withName("web").withUid("d-1")
        .withController(true).endOwnerReference().endMetadata();
    var container = b.withNewSpec().withReplicas(3).withNewSelector().withMatchLabels(Map.of("app", "web"))
        .endSelector().withNewTemplate().withNewMetadata().withLabels(Map.of("app", "web")).endMetadata()
        .withNewSpec().addNewContainer().withName("web").withImage("registry.example/web:1.2.3");
    for (int i = 0; i < envVars; i++) {
      container.addNewEnv().withName("SETTING_" + i).withValue("value-" + i + "-".repeat(40)).endEnv();
    }
    return container.endContainer().endSpec().endTemplate().endSpec().build();
  }

  @Test
  void keepsOnlyWhatOwnerResolutionReads() {
    OwnerStore<ReplicaSet> store = new OwnerStore<>(ReplicaSet::new);
    ReplicaSet full = fullReplicaSet("shop", "web-5d8f7c", 20);
    String key = store.getKey(full);
    assertEquals("shop/web-5d8f7c", key);
    store.put(key, full);

    ReplicaSet kept = store.get(key);
    assertEquals("web-5d8f7c", kept.getMetadata().getName());
    assertEquals("shop", kept.getMetadata().getNamespace());
    assertEquals("uid-web-5d8f7c", kept.getMetadata().getUid());
    assertEquals("42", kept.getMetadata().getResourceVersion());
    assertEquals(full.getMetadata().getOwnerReferences(), kept.getMetadata().getOwnerReferences());
    assertEquals("apps/v1", kept.getApiVersion());
    assertEquals("ReplicaSet", kept.getKind());
    assertNull(kept.getSpec());
    assertTrue(kept.getMetadata().getLabels() == null || kept.getMetadata().getLabels().isEmpty());
    assertEquals(full.getSpec().getReplicas(), 3, "the caller's object is not modified");

    int fullBytes = Serialization.asJson(full).length();
    int keptBytes = Serialization.asJson(kept).length();
    System.out.printf("ReplicaSet with a 20-variable pod template: %d JSON bytes, kept %d%n", fullBytes, keptBytes);
    assertTrue(keptBytes * 5 < fullBytes, fullBytes + " -> " + keptBytes);
  }

  @Test
  void jobsKeepTheirCronJobOwner() {
    OwnerStore<Job> store = new OwnerStore<>(Job::new);
    Job job = new JobBuilder().withNewMetadata().withNamespace("batch").withName("report-28")
        .addNewOwnerReference().withKind("CronJob").withName("report").withController(true).endOwnerReference()
        .endMetadata().withNewSpec().withNewTemplate().withNewSpec().addNewContainer().withName("r").endContainer()
        .endSpec().endTemplate().endSpec().build();
    store.put(store.getKey(job), job);
    Job kept = store.get("batch/report-28");
    assertEquals(List.of("report"), kept.getMetadata().getOwnerReferences().stream().map(o -> o.getName()).toList());
    assertNull(kept.getSpec());
    assertEquals(1, store.size());
    store.remove("batch/report-28");
    assertEquals(0, store.size());
  }
}
