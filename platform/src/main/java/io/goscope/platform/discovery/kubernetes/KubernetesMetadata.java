package io.goscope.platform.discovery.kubernetes;

import static java.util.Objects.requireNonNull;

import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.apps.ReplicaSet;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.informers.ExceptionHandler;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import io.goscope.api.DiscoveryContext;
import io.goscope.api.DiscoverySource;
import io.goscope.api.Nullable;
import io.goscope.api.ProcessInfo;
import io.goscope.api.WorkloadMetadata;
import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The {@code kubernetes} discovery source: pod metadata for processes on this node, from watch-driven caches.
 *
 * <p>It runs three fabric8 shared informers (list, then watch; no polling, no resync):
 *
 * <ul>
 *   <li>Pods with field selector {@code spec.nodeName=<NODE_NAME>}, indexed by container id (regular, init and
 *       ephemeral containers, {@code containerd://}, {@code cri-o://}, {@code docker://} schemes stripped), by pod
 *       uid and by owner;
 *   <li>ReplicaSets in all namespaces, to name the Deployment that owns a pod's ReplicaSet;
 *   <li>Jobs in all namespaces, to name the CronJob that owns a pod's Job.
 * </ul>
 *
 * <p>ReplicaSets and Jobs are watched cluster-wide rather than only those referenced by local pods: a per-name watch
 * would need one watch per owner and re-creating watches as pods come and go, whereas one informer is one watch. The
 * cost is memory proportional to the cluster's ReplicaSets and Jobs, kept small by {@link OwnerStore}, which caches
 * only names, uids and owner references (not the pod templates), and the initial lists are paged
 * ({@value #LIST_PAGE} objects per request). If listing ReplicaSets is not allowed or not yet
 * synced, the Deployment name is inferred from the pod's {@code pod-template-hash} label (without a uid). The agent's
 * RBAC needs get/list/watch on pods, replicasets (apps) and jobs (batch).
 *
 * <p>{@link #describe} reads only the caches and never blocks. The host is told through
 * {@link DiscoveryContext#metadataChanged()} when a local pod is added, deleted or changed in a way that changes its
 * description, and when a ReplicaSet or Job that owns a local pod appears or disappears.
 *
 * <p>Node mode: without {@code NODE_NAME}, or outside a cluster (no {@code KUBERNETES_SERVICE_HOST}) without a
 * kubeconfig, the source logs once at INFO and describes nothing; the agent keeps running. When the API server is
 * unreachable the informers keep retrying with back-off and the caches keep what they last saw.
 */
public final class KubernetesMetadata implements DiscoverySource {

  /** The source's name in configuration and logs. */
  public static final String NAME = "kubernetes";

  private static final Logger LOG = LoggerFactory.getLogger(KubernetesMetadata.class);

  /** Page size of the cluster-wide ReplicaSet and Job lists. */
  static final long LIST_PAGE = 500;

  @Nullable private final KubernetesClient injectedClient;
  @Nullable private final KubernetesMetadataConfig injectedConfig;
  private final Map<String, String> environment;
  private final Path userHome;
  private final AtomicBoolean started = new AtomicBoolean();

  /** Set once start() succeeded in creating informers; null in node mode and after close(). */
  @Nullable private volatile Running running;

  /**
   * The source as the agent builds it: at {@link #start} it reads its options from the context and connects with
   * fabric8's default configuration (in-cluster service account, else kubeconfig) when one is available.
   */
  public KubernetesMetadata() {
    this(null, null, System.getenv(), Path.of(System.getProperty("user.home", "/")));
  }

  /**
   * A source using the given client and options, e.g. a mock server's client in tests. {@link #close()} stops the
   * informers but leaves the client open: its owner closes it.
   */
  public KubernetesMetadata(KubernetesClient client, KubernetesMetadataConfig config) {
    this(requireNonNull(client, "client"), requireNonNull(config, "config"), Map.of(), Path.of("/"));
  }

  KubernetesMetadata(
      @Nullable KubernetesClient client,
      @Nullable KubernetesMetadataConfig config,
      Map<String, String> environment,
      Path userHome) {
    this.injectedClient = client;
    this.injectedConfig = config;
    this.environment = Map.copyOf(requireNonNull(environment, "environment"));
    this.userHome = requireNonNull(userHome, "userHome");
  }

  @Override
  public String name() {
    return NAME;
  }

  /**
   * Starts the informers and returns without waiting for them to sync.
   *
   * @throws IllegalStateException if called twice
   */
  @Override
  public void start(DiscoveryContext context) {
    requireNonNull(context, "context");
    if (!started.compareAndSet(false, true)) {
      throw new IllegalStateException("start kubernetes metadata: already started");
    }
    String nodeName = context.nodeName();
    if (nodeName == null || nodeName.isBlank()) {
      LOG.info("kubernetes metadata disabled: node name unknown (set NODE_NAME from the downward API spec.nodeName)");
      return;
    }
    KubernetesMetadataConfig config =
        injectedConfig != null ? injectedConfig : KubernetesMetadataConfig.from(context.config());
    KubernetesClient client = injectedClient;
    boolean ownsClient = false;
    if (client == null) {
      Optional<String> why = notInCluster();
      if (why.isPresent()) {
        LOG.info("kubernetes metadata disabled: {}", why.get());
        return;
      }
      try {
        client = new KubernetesClientBuilder().build();
        ownsClient = true;
      } catch (RuntimeException e) {
        LOG.info("kubernetes metadata disabled: cannot configure a Kubernetes client: {}", e.toString());
        return;
      }
    }
    running = Running.start(client, ownsClient, nodeName, config, context);
    LOG.info("kubernetes metadata started node={} masterUrl={}", nodeName, client.getConfiguration().getMasterUrl());
  }

  /**
   * Pod metadata for a process, found by its container id (cgroup-derived) and else by its pod uid. Reads the
   * informer caches only.
   */
  @Override
  public Optional<WorkloadMetadata> describe(ProcessInfo process) {
    requireNonNull(process, "process");
    Running r = running;
    if (r == null) {
      return Optional.empty();
    }
    return r.describe(process.containerId(), process.podUid());
  }

  /** Whether the informers run (a node name and a reachable cluster configuration); false in node mode. */
  public boolean active() {
    return running != null;
  }

  /** Whether the pod cache holds a complete initial list (false in node mode or while the API is unreachable). */
  public boolean hasSynced() {
    Running r = running;
    return r != null && r.pods.hasSynced();
  }

  @Override
  public void close() {
    Running r = running;
    running = null;
    if (r != null) {
      r.close();
    }
  }

  /** Why there is no cluster to talk to, or empty when there is (in-cluster, or a kubeconfig exists). */
  private Optional<String> notInCluster() {
    if (environment.containsKey("KUBERNETES_SERVICE_HOST")) {
      return Optional.empty();
    }
    String kubeconfig = environment.get("KUBECONFIG");
    if (kubeconfig != null && !kubeconfig.isBlank()) {
      for (String path : kubeconfig.split(File.pathSeparator)) {
        if (!path.isBlank() && Files.isRegularFile(Path.of(path))) {
          return Optional.empty();
        }
      }
    } else if (Files.isRegularFile(userHome.resolve(".kube").resolve("config"))) {
      return Optional.empty();
    }
    return Optional.of("not in a cluster (no KUBERNETES_SERVICE_HOST) and no kubeconfig");
  }

  /** The informers and their client while the source runs. */
  private static final class Running {
    private final KubernetesClient client;
    private final boolean ownsClient;
    private final KubernetesMetadataConfig config;
    private final SharedIndexInformer<Pod> pods;
    private final SharedIndexInformer<ReplicaSet> replicaSets;
    private final SharedIndexInformer<Job> jobs;
    private final OwnerResolver owners;
    private volatile boolean closed;

    private Running(
        KubernetesClient client,
        boolean ownsClient,
        KubernetesMetadataConfig config,
        SharedIndexInformer<Pod> pods,
        SharedIndexInformer<ReplicaSet> replicaSets,
        SharedIndexInformer<Job> jobs) {
      this.client = client;
      this.ownsClient = ownsClient;
      this.config = config;
      this.pods = pods;
      this.replicaSets = replicaSets;
      this.jobs = jobs;
      this.owners =
          new OwnerResolver(key -> replicaSets.getStore().getByKey(key), key -> jobs.getStore().getByKey(key));
    }

    static Running start(
        KubernetesClient client,
        boolean ownsClient,
        String nodeName,
        KubernetesMetadataConfig config,
        DiscoveryContext context) {
      SharedIndexInformer<Pod> pods =
          client.pods().inAnyNamespace().withField("spec.nodeName", nodeName).runnableInformer(0);
      pods.addIndexers(PodIndexes.all(nodeName));
      pods.addEventHandler(new PodEvents(nodeName, context));
      pods.exceptionHandler(new RetryingExceptionHandler("pods"));

      SharedIndexInformer<ReplicaSet> replicaSets =
          client.apps().replicaSets().inAnyNamespace().withLimit(LIST_PAGE).runnableInformer(0);
      replicaSets.itemStore(new OwnerStore<>(ReplicaSet::new));
      replicaSets.addEventHandler(new OwnerEvents<>(pods, context));
      replicaSets.exceptionHandler(new RetryingExceptionHandler("replicasets"));

      SharedIndexInformer<Job> jobs =
          client.batch().v1().jobs().inAnyNamespace().withLimit(LIST_PAGE).runnableInformer(0);
      jobs.itemStore(new OwnerStore<>(Job::new));
      jobs.addEventHandler(new OwnerEvents<>(pods, context));
      jobs.exceptionHandler(new RetryingExceptionHandler("jobs"));

      Running running = new Running(client, ownsClient, config, pods, replicaSets, jobs);
      running.startAsync(replicaSets, "replicasets");
      running.startAsync(jobs, "jobs");
      running.startAsync(pods, "pods");
      return running;
    }

    private void startAsync(SharedIndexInformer<?> informer, String resource) {
      informer
          .start()
          .whenComplete(
              (ok, error) -> {
                if (error == null) {
                  LOG.debug("kubernetes informer watching resource={}", resource);
                } else if (closed) {
                  LOG.debug("kubernetes informer closed before watching resource={}", resource);
                } else {
                  LOG.info("kubernetes informer gave up resource={} cause={}", resource, error.toString());
                }
              });
    }

    Optional<WorkloadMetadata> describe(@Nullable String rawContainerId, @Nullable String rawPodUid) {
      String containerId = PodContainer.normalizeId(rawContainerId);
      if (containerId != null) {
        for (Pod pod : pods.getIndexer().byIndex(PodIndexes.BY_CONTAINER_ID, containerId)) {
          for (PodContainer c : PodContainer.of(pod)) {
            if (containerId.equals(c.id())) {
              return Optional.of(describe(pod, c.name(), c.id()));
            }
          }
        }
      }
      String podUid = PodIndexes.normalizeUid(rawPodUid);
      if (podUid == null) {
        return Optional.empty();
      }
      List<Pod> byUid = pods.getIndexer().byIndex(PodIndexes.BY_UID, podUid);
      if (byUid.isEmpty()) {
        return Optional.empty();
      }
      Pod pod = byUid.get(0);
      if (containerId != null) {
        // A shortened id from the cgroup path (e.g. docker's 12-character form) still names one container.
        for (PodContainer c : PodContainer.of(pod)) {
          if (c.id() != null && c.id().startsWith(containerId)) {
            return Optional.of(describe(pod, c.name(), c.id()));
          }
        }
      }
      List<String> names = PodContainer.specContainerNames(pod);
      String onlyContainer = names.size() == 1 ? names.get(0) : null;
      return Optional.of(describe(pod, onlyContainer, null));
    }

    private WorkloadMetadata describe(Pod pod, @Nullable String containerName, @Nullable String containerId) {
      return PodMetadata.describe(pod, containerName, containerId, owners.resolve(pod), config);
    }

    void close() {
      closed = true;
      pods.stop();
      replicaSets.stop();
      jobs.stop();
      if (ownsClient) {
        client.close();
      }
    }
  }

  /** Tells the host about local pod changes that change a description. */
  private static final class PodEvents implements ResourceEventHandler<Pod> {
    private final String nodeName;
    private final DiscoveryContext context;

    PodEvents(String nodeName, DiscoveryContext context) {
      this.nodeName = nodeName;
      this.context = context;
    }

    @Override
    public void onAdd(Pod pod) {
      if (isLocal(pod)) {
        notifyChanged(context, "pod added", pod);
      }
    }

    @Override
    public void onUpdate(Pod before, Pod after) {
      if (!isLocal(after) && !isLocal(before)) {
        return;
      }
      if (!fingerprint(before).equals(fingerprint(after))) {
        notifyChanged(context, "pod updated", after);
      }
    }

    @Override
    public void onDelete(Pod pod, boolean finalStateUnknown) {
      if (isLocal(pod)) {
        notifyChanged(context, "pod deleted", pod);
      }
    }

    private boolean isLocal(Pod pod) {
      return pod.getSpec() != null && nodeName.equals(pod.getSpec().getNodeName());
    }

    /** The parts of a pod that its description depends on; status churn (readiness, restarts) is left out. */
    private static List<Object> fingerprint(Pod pod) {
      return Arrays.asList(
          pod.getMetadata().getLabels(),
          pod.getMetadata().getAnnotations(),
          pod.getMetadata().getOwnerReferences(),
          PodContainer.of(pod),
          pod.getStatus() == null ? null : pod.getStatus().getPodIP(),
          pod.getSpec() == null ? null : pod.getSpec().getNodeName());
    }
  }

  /** Tells the host when an owner (ReplicaSet, Job) of a local pod appears, changes owner, or disappears. */
  private static final class OwnerEvents<T extends HasMetadata> implements ResourceEventHandler<T> {
    private final SharedIndexInformer<Pod> pods;
    private final DiscoveryContext context;

    OwnerEvents(SharedIndexInformer<Pod> pods, DiscoveryContext context) {
      this.pods = pods;
      this.context = context;
    }

    @Override
    public void onAdd(T owner) {
      notifyIfOwnsLocalPod(owner, "owner added");
    }

    @Override
    public void onUpdate(T before, T after) {
      if (!Objects.equals(before.getMetadata().getOwnerReferences(), after.getMetadata().getOwnerReferences())) {
        notifyIfOwnsLocalPod(after, "owner updated");
      }
    }

    @Override
    public void onDelete(T owner, boolean finalStateUnknown) {
      notifyIfOwnsLocalPod(owner, "owner deleted");
    }

    private void notifyIfOwnsLocalPod(T owner, String what) {
      if (!pods.getIndexer().byIndex(PodIndexes.BY_OWNER, PodIndexes.ownerKey(owner)).isEmpty()) {
        notifyChanged(context, what, owner);
      }
    }
  }

  private static void notifyChanged(DiscoveryContext context, String what, HasMetadata object) {
    LOG.debug("kubernetes metadata changed event=\"{}\" kind={} namespace={} name={}", what, object.getKind(),
        object.getMetadata().getNamespace(), object.getMetadata().getName());
    try {
      context.metadataChanged();
    } catch (RuntimeException e) {
      LOG.warn("kubernetes metadata: host failed to handle metadataChanged event=\"{}\"", what, e);
    }
  }

  /**
   * Keeps an informer retrying whatever fails (API server down, RBAC not yet granted); logs the first failure at
   * WARN and later ones at DEBUG so a long outage does not flood the log.
   */
  private static final class RetryingExceptionHandler implements ExceptionHandler {
    private final String resource;
    private final AtomicBoolean warned = new AtomicBoolean();

    RetryingExceptionHandler(String resource) {
      this.resource = resource;
    }

    @Override
    public boolean retryAfterException(boolean isStarted, Throwable t) {
      if (warned.compareAndSet(false, true)) {
        LOG.warn("kubernetes informer failed, retrying resource={} started={} cause={}", resource, isStarted,
            t.toString());
      } else {
        LOG.debug("kubernetes informer failed again, retrying resource={} cause={}", resource, t.toString());
      }
      return true;
    }
  }
}
