package io.goscope.platform.discovery.kubernetes;

/**
 * Kubernetes workload kinds that own pods, in the order semantic conventions use to derive {@code service.name}
 * (ancestor before descendant).
 */
enum WorkloadKind {
  DEPLOYMENT("Deployment", "k8s.deployment"),
  REPLICA_SET("ReplicaSet", "k8s.replicaset"),
  STATEFUL_SET("StatefulSet", "k8s.statefulset"),
  DAEMON_SET("DaemonSet", "k8s.daemonset"),
  CRON_JOB("CronJob", "k8s.cronjob"),
  JOB("Job", "k8s.job");

  private final String kind;
  private final String attributePrefix;

  WorkloadKind(String kind, String attributePrefix) {
    this.kind = kind;
    this.attributePrefix = attributePrefix;
  }

  /** The Kubernetes {@code kind}, e.g. {@code Deployment}. */
  String kind() {
    return kind;
  }

  /** Resource attribute holding the name, e.g. {@code k8s.deployment.name}. */
  String nameAttribute() {
    return attributePrefix + ".name";
  }

  /** Resource attribute holding the uid, e.g. {@code k8s.deployment.uid}. */
  String uidAttribute() {
    return attributePrefix + ".uid";
  }
}
