package io.goscope.platform.rules;

import io.goscope.api.Nullable;
import io.goscope.platform.yaml.SafeYaml;
import java.io.StringReader;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.BiConsumer;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.error.Mark;
import org.yaml.snakeyaml.nodes.MappingNode;
import org.yaml.snakeyaml.nodes.Node;
import org.yaml.snakeyaml.nodes.NodeTuple;
import org.yaml.snakeyaml.nodes.ScalarNode;
import org.yaml.snakeyaml.nodes.SequenceNode;
import org.yaml.snakeyaml.nodes.Tag;

/**
 * Parses a rule file. The YAML is composed into a node tree by SnakeYAML with a {@link SafeConstructor} and walked
 * here, so that every error names {@code file:line:column}; no Java object is constructed from tags. Unknown keys,
 * duplicate keys, wrong types, bad regexes and out-of-range values are errors.
 *
 * <pre>
 * rules:                      # include rules
 *   - name: checkout
 *     match: {executable: "checkout*", namespace: shop}
 *     options: {serviceName: checkout, probes: [nethttp], sampling: 0.5, resourceAttributes: {team: payments},
 *               propagation: true, probeOptions: {db.query.text: off}}
 * exclude:
 *   - name: no-batch
 *     match: {labels: {tier: batch}}
 * </pre>
 */
public final class RuleFileParser {
  /** Files larger than this are rejected. */
  public static final int MAX_FILE_CHARS = 1024 * 1024;

  private static final Set<String> TOP_KEYS = Set.of("rules", "exclude");
  private static final Set<String> RULE_KEYS = Set.of("name", "match", "options");
  private static final Set<String> MATCH_KEYS = Set.of("executable", "executablePath", "cmdline", "env",
      "container", "namespace", "pod", "labels", "annotations", "owner");
  private static final Set<String> OWNER_KEYS = Set.of("kind", "name");
  private static final Set<String> OPTION_KEYS = Set.of("serviceName", "probes", "sampling",
      "resourceAttributes", "propagation", "probeOptions");

  private final String file;

  private RuleFileParser(String file) {
    this.file = file;
  }

  /** Parses {@code content} of the file called {@code fileName}; throws {@link RulesFormatException}. */
  public static RuleFile parse(String fileName, String content) {
    return new RuleFileParser(fileName).parse(content);
  }

  private RuleFile parse(String content) {
    if (content.length() > MAX_FILE_CHARS) {
      throw new RulesFormatException(file, 1, 1, "file larger than " + MAX_FILE_CHARS + " characters");
    }
    LoaderOptions options = new LoaderOptions();
    options.setAllowDuplicateKeys(false);
    options.setMaxAliasesForCollections(20);
    options.setNestingDepthLimit(20);
    options.setCodePointLimit(MAX_FILE_CHARS);
    Node root;
    try {
      root = SafeYaml.compose(new StringReader(content), options);
    } catch (SafeYaml.SyntaxError e) {
      throw new RulesFormatException(file, Math.max(1, e.line()), Math.max(1, e.column()), "bad YAML: "
          + oneLine(e.problem()) + (e.context() != null ? " (" + oneLine(e.context()) + ")" : ""), e);
    }
    List<Rule> includes = new ArrayList<>();
    List<Rule> excludes = new ArrayList<>();
    if (root == null || isNull(root)) {
      return new RuleFile(file, includes, excludes);
    }
    forEachEntry(mapping(root, "the document"), TOP_KEYS, "the document", (key, value) -> {
      if (isNull(value)) {
        return;
      }
      boolean include = key.equals("rules");
      List<Rule> target = include ? includes : excludes;
      SequenceNode list = sequence(value, key);
      for (Node item : list.getValue()) {
        target.add(rule(item, include, key, target.size()));
      }
    });
    return new RuleFile(file, includes, excludes);
  }

  private Rule rule(Node node, boolean include, String section, int index) {
    MappingNode map = mapping(node, "a rule in '" + section + "'");
    String[] name = {null};
    Match[] match = {null};
    RuleOptions[] ruleOptions = {RuleOptions.DEFAULT};
    forEachEntry(map, RULE_KEYS, "rule", (key, value) -> {
      switch (key) {
        case "name" -> name[0] = string(value, "name");
        case "match" -> match[0] = match(value);
        case "options" -> {
          if (!include) {
            throw error(value, "'options' is not allowed in an exclude rule");
          }
          ruleOptions[0] = options(value);
        }
        default -> throw new IllegalStateException(key);
      }
    });
    if (match[0] == null) {
      throw error(node, "rule has no 'match' (use 'match: {}' to match every process)");
    }
    String ruleName = name[0] != null && !name[0].isBlank() ? name[0] : file + "#" + section + "[" + index + "]";
    return new Rule(ruleName, match[0], ruleOptions[0], file + ":" + line(node));
  }

  private Glob glob(Node value, String key) {
    try {
      return Glob.compile(string(value, key));
    } catch (IllegalArgumentException e) {
      throw error(value, "bad glob in '" + key + "': " + e.getMessage());
    }
  }

  private Match match(Node node) {
    if (isNull(node)) {
      return Match.ANY;
    }
    Map<String, Object> v = new LinkedHashMap<>();
    forEachEntry(mapping(node, "match"), MATCH_KEYS, "match", (key, value) -> {
      switch (key) {
        case "executable", "executablePath", "container", "namespace", "pod" ->
            v.put(key, glob(value, key));
        case "cmdline" -> {
          String regex = string(value, key);
          try {
            v.put(key, Pattern.compile(regex));
          } catch (PatternSyntaxException e) {
            throw error(value, "bad regex in 'cmdline': " + oneLine(e.getDescription()) + " near index "
                + e.getIndex() + " of '" + regex + "'");
          }
        }
        case "env", "labels", "annotations" -> v.put(key, stringMap(value, key));
        case "owner" -> forEachEntry(mapping(value, "owner"), OWNER_KEYS, "owner", (ok, ov) ->
            v.put(ok.equals("kind") ? "ownerKind" : "ownerName", glob(ov, "owner." + ok)));
        default -> throw new IllegalStateException(key);
      }
    });
    return new Match((Glob) v.get("executable"), (Glob) v.get("executablePath"), (Pattern) v.get("cmdline"),
        mapOrEmpty(v.get("env")), (Glob) v.get("container"), (Glob) v.get("namespace"), (Glob) v.get("pod"),
        mapOrEmpty(v.get("labels")), mapOrEmpty(v.get("annotations")), (Glob) v.get("ownerKind"),
        (Glob) v.get("ownerName"));
  }

  private RuleOptions options(Node node) {
    if (isNull(node)) {
      return RuleOptions.DEFAULT;
    }
    String[] serviceName = {null};
    Set<String>[] probes = new Set[] {null};
    double[] sampling = {1.0};
    Map<String, String>[] attributes = new Map[] {Map.of()};
    boolean[] propagation = {false};
    Map<String, String>[] probeOptions = new Map[] {Map.of()};
    forEachEntry(mapping(node, "options"), OPTION_KEYS, "options", (key, value) -> {
      switch (key) {
        case "serviceName" -> serviceName[0] = string(value, key);
        case "probes" -> {
          Set<String> ids = new LinkedHashSet<>();
          for (Node item : sequence(value, key).getValue()) {
            ids.add(string(item, "probes entry"));
          }
          probes[0] = ids;
        }
        case "sampling" -> {
          String text = string(value, key);
          double ratio;
          try {
            ratio = Double.parseDouble(text);
          } catch (NumberFormatException e) {
            throw error(value, "'sampling' must be a number from 0 to 1, got '" + text + "'");
          }
          if (!(ratio >= 0 && ratio <= 1)) {
            throw error(value, "'sampling' must be from 0 to 1, got " + text);
          }
          sampling[0] = ratio;
        }
        case "resourceAttributes" -> attributes[0] = stringMap(value, key);
        case "propagation" -> {
          String text = string(value, key);
          if (!text.equals("true") && !text.equals("false")) {
            throw error(value, "'propagation' must be true or false, got '" + text + "'");
          }
          propagation[0] = Boolean.parseBoolean(text);
        }
        case "probeOptions" -> probeOptions[0] = stringMap(value, key);
        default -> throw new IllegalStateException(key);
      }
    });
    return new RuleOptions(serviceName[0], probes[0], sampling[0], attributes[0], propagation[0], probeOptions[0]);
  }

  // ---- node helpers ----

  private void forEachEntry(MappingNode map, Set<String> allowed, String where, BiConsumer<String, Node> action) {
    Set<String> seen = new HashSet<>();
    for (NodeTuple tuple : map.getValue()) {
      String key = string(tuple.getKeyNode(), "key in " + where);
      if (!allowed.contains(key)) {
        throw error(tuple.getKeyNode(), "unknown key '" + key + "' in " + where + " (expected one of "
            + allowed.stream().sorted().toList() + ")");
      }
      if (!seen.add(key)) {
        throw error(tuple.getKeyNode(), "duplicate key '" + key + "' in " + where);
      }
      action.accept(key, tuple.getValueNode());
    }
  }

  private Map<String, String> stringMap(Node node, String what) {
    Map<String, String> map = new LinkedHashMap<>();
    if (isNull(node)) {
      return map;
    }
    for (NodeTuple tuple : mapping(node, what).getValue()) {
      String key = string(tuple.getKeyNode(), "key in " + what);
      if (map.put(key, string(tuple.getValueNode(), what + "." + key)) != null) {
        throw error(tuple.getKeyNode(), "duplicate key '" + key + "' in " + what);
      }
    }
    return map;
  }

  private MappingNode mapping(Node node, String what) {
    if (node instanceof MappingNode map) {
      return map;
    }
    throw error(node, what + " must be a mapping, got " + describe(node));
  }

  private SequenceNode sequence(Node node, String what) {
    if (node instanceof SequenceNode seq) {
      return seq;
    }
    throw error(node, "'" + what + "' must be a list, got " + describe(node));
  }

  private String string(Node node, String what) {
    if (node instanceof ScalarNode scalar && !isNull(node)) {
      return scalar.getValue();
    }
    throw error(node, "'" + what + "' must be a string, got " + describe(node));
  }

  private static boolean isNull(Node node) {
    return node instanceof ScalarNode && Tag.NULL.equals(node.getTag());
  }

  private static String describe(Node node) {
    if (isNull(node)) {
      return "nothing";
    }
    if (node instanceof MappingNode) {
      return "a mapping";
    }
    if (node instanceof SequenceNode) {
      return "a list";
    }
    return "'" + ((ScalarNode) node).getValue() + "'";
  }

  private RulesFormatException error(Node node, String problem) {
    Mark mark = node.getStartMark();
    return new RulesFormatException(file, mark == null ? 1 : mark.getLine() + 1,
        mark == null ? 1 : mark.getColumn() + 1, problem);
  }

  private static int line(Node node) {
    return node.getStartMark() == null ? 1 : node.getStartMark().getLine() + 1;
  }

  private static String oneLine(@Nullable String s) {
    return s == null ? "" : s.replace('\n', ' ').trim();
  }

  @SuppressWarnings("unchecked")
  private static Map<String, String> mapOrEmpty(Object map) {
    return map == null ? Map.of() : (Map<String, String>) map;
  }
}
