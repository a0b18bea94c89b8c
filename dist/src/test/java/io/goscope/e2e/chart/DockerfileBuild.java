package io.goscope.e2e.chart;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.PathMatcher;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Builds the file system of a Dockerfile's final stage without a container engine, to prove the Dockerfile against
 * the tree it is built from: every {@code COPY}/{@code ADD} source must exist in the context (and not be excluded by
 * its {@code .dockerignore}), tarballs are unpacked as {@code ADD} does, exec-form {@code RUN} steps run the image's
 * own scripts in the stage's root, and {@code apt-get install} steps are checked against this Debian host (the
 * image's base is the same release, so the package names must be installed here). The base image's own files are
 * not there: commands the image runs come from this host, which has the same packages.
 *
 * <p>Supported: ARG, FROM [AS], ENV, LABEL, ADD, COPY [--from], RUN (exec form, or shell form with apt-get only),
 * USER, WORKDIR, ENTRYPOINT and CMD in exec form. Anything else fails the build, so the Dockerfile cannot drift
 * into what this test does not check.
 */
public final class DockerfileBuild {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Pattern VAR = Pattern.compile("\\$\\{([A-Za-z_][A-Za-z0-9_]*)}|\\$([A-Za-z_][A-Za-z0-9_]*)");
  /** PATH of the Debian base images. */
  static final String BASE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

  /** The final stage: its root and metadata. */
  public record Image(Path rootfs, List<String> entrypoint, List<String> cmd, Map<String, String> env,
      String user, Map<String, String> labels, List<String> aptPackages, List<String> sources) {

    /** The host path of {@code path} (absolute, inside the image). */
    public Path resolve(String path) {
      return rootfs.resolve(path.replaceFirst("^/+", ""));
    }
  }

  private final Path dockerfile;
  private final Path context;
  private final Path work;
  private final Map<String, String> buildArgs;
  private final Map<String, String> globalArgs = new LinkedHashMap<>();
  private final Map<String, Path> stages = new LinkedHashMap<>();
  private final List<String> ignore;
  private final List<String> apt = new ArrayList<>();
  private final List<String> sources = new ArrayList<>();

  // the current stage
  private Path rootfs;
  private Map<String, String> args = new LinkedHashMap<>();
  private Map<String, String> env = new LinkedHashMap<>();
  private Map<String, String> labels = new LinkedHashMap<>();
  private List<String> entrypoint;
  private List<String> cmd;
  private String user;

  private DockerfileBuild(Path dockerfile, Path context, Path work, Map<String, String> buildArgs) throws IOException {
    this.dockerfile = dockerfile;
    this.context = context;
    this.work = work;
    this.buildArgs = buildArgs;
    Path specific = dockerfile.resolveSibling(dockerfile.getFileName() + ".dockerignore");
    Path ignoreFile = Files.exists(specific) ? specific : context.resolve(".dockerignore");
    this.ignore = Files.exists(ignoreFile)
        ? Files.readAllLines(ignoreFile).stream().map(String::strip)
            .filter(l -> !l.isEmpty() && !l.startsWith("#")).toList()
        : List.of();
  }

  /** Builds {@code dockerfile} with {@code context} into {@code work} (emptied first). */
  public static Image build(Path dockerfile, Path context, Path work, Map<String, String> buildArgs) {
    try {
      deleteRecursively(work);
      Files.createDirectories(work);
      return new DockerfileBuild(dockerfile, context.toAbsolutePath(), work, Map.copyOf(buildArgs)).run();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  private Image run() throws IOException, InterruptedException {
    List<String> lines = instructions(Files.readString(dockerfile, StandardCharsets.UTF_8));
    for (String line : lines) {
      String[] parts = line.split("\\s+", 2);
      String op = parts[0].toUpperCase();
      String rest = parts.length > 1 ? parts[1].strip() : "";
      switch (op) {
        case "ARG" -> arg(rest);
        case "FROM" -> from(rest);
        case "ENV" -> keyValues(substitute(rest), env);
        case "LABEL" -> keyValues(substitute(rest), labels);
        case "ADD" -> copy(rest, true);
        case "COPY" -> copy(rest, false);
        case "RUN" -> run(rest);
        case "USER" -> user = substitute(rest);
        case "WORKDIR" -> Files.createDirectories(inRoot(substitute(rest)));
        case "ENTRYPOINT" -> entrypoint = execForm(rest, op);
        case "CMD" -> cmd = execForm(rest, op);
        default -> throw new AssertionError(dockerfile + ": instruction not supported by this builder: " + line);
      }
    }
    if (rootfs == null) {
      throw new AssertionError(dockerfile + ": no FROM");
    }
    return new Image(rootfs, entrypoint == null ? List.of() : entrypoint, cmd == null ? List.of() : cmd,
        Map.copyOf(env), user, Map.copyOf(labels), List.copyOf(apt), List.copyOf(sources));
  }

  /** Logical lines: comments and blank lines dropped, backslash continuations joined. */
  static List<String> instructions(String text) {
    List<String> out = new ArrayList<>();
    StringBuilder current = new StringBuilder();
    for (String raw : text.split("\n")) {
      String line = raw.strip();
      if (line.startsWith("#") || (line.isEmpty() && current.length() == 0)) {
        continue;
      }
      if (line.endsWith("\\")) {
        current.append(line, 0, line.length() - 1).append(' ');
        continue;
      }
      current.append(line);
      if (current.length() > 0 && !current.toString().isBlank()) {
        out.add(current.toString().strip());
      }
      current.setLength(0);
    }
    return out;
  }

  private void arg(String rest) {
    String name = rest.contains("=") ? rest.substring(0, rest.indexOf('=')) : rest;
    String dflt = rest.contains("=") ? rest.substring(rest.indexOf('=') + 1) : null;
    Map<String, String> scope = rootfs == null ? globalArgs : args;
    String value = buildArgs.containsKey(name) ? buildArgs.get(name)
        : dflt != null ? substitute(unquote(dflt))
        : globalArgs.get(name);
    scope.put(name, value == null ? "" : value);
  }

  private void from(String rest) throws IOException {
    String[] words = rest.split("\\s+");
    String image = substituteWith(words[0], globalArgs);
    if (stages.containsKey(image)) {
      throw new AssertionError(dockerfile + ": FROM a previous stage is not supported");
    }
    String name = words.length == 3 && words[1].equalsIgnoreCase("AS") ? words[2] : "stage" + stages.size();
    rootfs = work.resolve(name);
    Files.createDirectories(rootfs);
    stages.put(name, rootfs);
    args = new LinkedHashMap<>();
    env = new LinkedHashMap<>(Map.of("PATH", BASE_PATH));
    labels = new LinkedHashMap<>();
    entrypoint = null;
    cmd = null;
    user = null;
  }

  private void copy(String rest, boolean add) throws IOException, InterruptedException {
    String from = null;
    List<String> words = new ArrayList<>(List.of(substitute(rest).split("\\s+")));
    while (!words.isEmpty() && words.get(0).startsWith("--")) {
      String flag = words.remove(0);
      if (flag.startsWith("--from=")) {
        from = flag.substring("--from=".length());
      } else if (!flag.startsWith("--chown=") && !flag.startsWith("--chmod=")) {
        throw new AssertionError(dockerfile + ": unsupported flag " + flag);
      }
    }
    String dest = words.remove(words.size() - 1);
    for (String src : words) {
      List<Path> matches;
      if (from != null) {
        Path stage = stages.get(from);
        if (stage == null) {
          throw new AssertionError(dockerfile + ": COPY --from=" + from + ": no such stage");
        }
        matches = glob(stage, src.replaceFirst("^/+", ""));
      } else {
        matches = glob(context, src);
        for (Path m : matches) {
          String relative = context.relativize(m).toString();
          if (ignored(relative)) {
            throw new AssertionError(dockerfile + ": " + src + " is excluded from the build context by "
                + ".dockerignore");
          }
          sources.add(relative);
        }
      }
      if (matches.isEmpty()) {
        throw new AssertionError(dockerfile + ": " + (add ? "ADD" : "COPY") + " source " + src + " does not exist"
            + (from == null ? " in the build context " + context : " in stage " + from));
      }
      for (Path m : matches) {
        Path target = inRoot(dest);
        String name = m.getFileName().toString();
        if (add && from == null && (name.endsWith(".tar.gz") || name.endsWith(".tgz") || name.endsWith(".tar"))) {
          Files.createDirectories(target);
          exec(List.of("tar", "-xf", m.toString(), "-C", target.toString()), work);
        } else {
          Path into = dest.endsWith("/") || matches.size() > 1 ? target.resolve(name) : target;
          Files.createDirectories(into.getParent());
          exec(List.of("cp", "-a", Files.isDirectory(m) ? m + "/." : m.toString(),
              Files.isDirectory(m) ? mkdirs(into).toString() : into.toString()), work);
        }
      }
    }
  }

  private static Path mkdirs(Path p) throws IOException {
    return Files.createDirectories(p);
  }

  private void run(String rest) throws IOException, InterruptedException {
    if (rest.startsWith("[")) {
      List<String> argv = new ArrayList<>(execForm(rest, "RUN"));
      if (argv.get(0).startsWith("/")) {
        argv.set(0, inRoot(argv.get(0)).toString());
      }
      Map<String, String> runEnv = new LinkedHashMap<>(env);
      runEnv.put("PATH", System.getenv("PATH"));
      exec(argv, work, runEnv);
      return;
    }
    String shell = substitute(rest);
    if (!shell.contains("apt-get")) {
      throw new AssertionError(dockerfile + ": shell-form RUN other than apt-get is not checked by this builder: "
          + shell);
    }
    Matcher m = Pattern.compile("apt-get install((?:\\s+[^&|;]+)+)").matcher(shell);
    while (m.find()) {
      for (String word : m.group(1).strip().split("\\s+")) {
        if (!word.startsWith("-")) {
          apt.add(word);
        }
      }
    }
    if (apt.isEmpty()) {
      throw new AssertionError(dockerfile + ": apt-get step installs nothing: " + shell);
    }
  }

  private List<String> execForm(String rest, String op) throws IOException {
    if (!rest.startsWith("[")) {
      throw new AssertionError(dockerfile + ": " + op + " must use the exec (JSON) form: " + rest);
    }
    return JSON.readValue(rest, new TypeReference<List<String>>() {}).stream().map(this::substitute).toList();
  }

  private Path inRoot(String path) {
    if (!path.startsWith("/")) {
      throw new AssertionError(dockerfile + ": relative destination " + path + " (use absolute paths)");
    }
    return rootfs.resolve(path.substring(1));
  }

  private boolean ignored(String relative) {
    boolean excluded = false;
    for (String pattern : ignore) {
      boolean negate = pattern.startsWith("!");
      String glob = negate ? pattern.substring(1) : pattern;
      PathMatcher matcher = FileSystems.getDefault().getPathMatcher("glob:" + glob);
      if (matcher.matches(Path.of(relative))) {
        excluded = !negate;
      }
    }
    return excluded;
  }

  private static List<Path> glob(Path base, String pattern) throws IOException {
    Path direct = base.resolve(pattern);
    if (!pattern.contains("*") && !pattern.contains("?")) {
      return Files.exists(direct) ? List.of(direct) : List.of();
    }
    Path dir = direct.getParent();
    List<Path> out = new ArrayList<>();
    if (Files.isDirectory(dir)) {
      try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir, direct.getFileName().toString())) {
        ds.forEach(out::add);
      }
    }
    out.sort(null);
    return out;
  }

  private String substitute(String s) {
    Map<String, String> vars = new LinkedHashMap<>(globalArgs);
    vars.putAll(args);
    vars.putAll(env);
    return substituteWith(s, vars);
  }

  private static String substituteWith(String s, Map<String, String> vars) {
    Matcher m = VAR.matcher(s);
    StringBuilder sb = new StringBuilder();
    while (m.find()) {
      String name = m.group(1) != null ? m.group(1) : m.group(2);
      m.appendReplacement(sb, Matcher.quoteReplacement(vars.getOrDefault(name, "")));
    }
    m.appendTail(sb);
    return sb.toString();
  }

  /** {@code k=v k2="v 2"} pairs. */
  private static void keyValues(String s, Map<String, String> into) {
    Matcher m = Pattern.compile("([A-Za-z0-9_.\\-]+)=(\"((?:[^\"\\\\]|\\\\.)*)\"|\\S*)").matcher(s);
    while (m.find()) {
      into.put(m.group(1), m.group(3) != null ? m.group(3).replace("\\\"", "\"") : m.group(2));
    }
  }

  private static String unquote(String s) {
    return s.length() >= 2 && s.startsWith("\"") && s.endsWith("\"") ? s.substring(1, s.length() - 1) : s;
  }

  private static void exec(List<String> argv, Path dir) throws IOException, InterruptedException {
    exec(argv, dir, null);
  }

  private static void exec(List<String> argv, Path dir, Map<String, String> env)
      throws IOException, InterruptedException {
    ProcessBuilder pb = new ProcessBuilder(argv).directory(dir.toFile()).redirectErrorStream(true);
    if (env != null) {
      pb.environment().clear();
      pb.environment().putAll(env);
    }
    Process p = pb.start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!p.waitFor(10, TimeUnit.MINUTES) || p.exitValue() != 0) {
      throw new AssertionError("image build step failed: " + String.join(" ", argv) + "\n" + out);
    }
  }

  static void deleteRecursively(Path p) throws IOException {
    if (!Files.exists(p, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
      return;
    }
    requireNonNull(p, "p");
    try (var walk = Files.walk(p)) {
      for (Path q : walk.sorted(java.util.Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(q);
      }
    }
  }
}
