package io.goscope.platform.yaml;

import static java.util.Objects.requireNonNull;

import io.goscope.api.Nullable;
import java.io.Reader;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;
import org.yaml.snakeyaml.error.Mark;
import org.yaml.snakeyaml.error.MarkedYAMLException;
import org.yaml.snakeyaml.error.YAMLException;
import org.yaml.snakeyaml.nodes.Node;

/**
 * Composes a YAML document into nodes only (no tags honoured, no objects constructed), for the agent's own file
 * formats (rule files, offset tables). Every way SnakeYAML rejects its input surfaces as one {@link SyntaxError},
 * which each format turns into its own typed error naming the file.
 */
public final class SafeYaml {
  private SafeYaml() {}

  /** Why a document is not YAML, and where (line and column 1-based, 0 when SnakeYAML gave no position). */
  public static final class SyntaxError extends RuntimeException {
    private final int line;
    private final int column;
    private final String problem;
    @Nullable private final String context;

    SyntaxError(int line, int column, String problem, @Nullable String context, Throwable cause) {
      super(problem + (context != null ? " (" + context + ")" : ""), cause);
      this.line = line;
      this.column = column;
      this.problem = problem;
      this.context = context;
    }

    /** 1-based line, or 0 when unknown. */
    public int line() {
      return line;
    }

    /** 1-based column, or 0 when unknown. */
    public int column() {
      return column;
    }

    /** What is wrong. */
    public String problem() {
      return problem;
    }

    /** What SnakeYAML was reading when it failed ("while scanning a quoted scalar"), or null. */
    @Nullable
    public String context() {
      return context;
    }
  }

  /**
   * The document's root node, or null for an empty document.
   *
   * @throws SyntaxError for malformed YAML or input beyond the limits of {@code options}
   */
  @Nullable
  public static Node compose(Reader yaml, LoaderOptions options) {
    requireNonNull(yaml, "yaml");
    requireNonNull(options, "options");
    try {
      return new Yaml(new SafeConstructor(options)).compose(yaml);
    } catch (MarkedYAMLException e) {
      Mark mark = e.getProblemMark() != null ? e.getProblemMark() : e.getContextMark();
      throw new SyntaxError(mark == null ? 0 : mark.getLine() + 1, mark == null ? 0 : mark.getColumn() + 1,
          e.getProblem() != null ? e.getProblem() : String.valueOf(e.getMessage()), e.getContext(), e);
    } catch (YAMLException e) {
      throw new SyntaxError(0, 0, String.valueOf(e.getMessage()), null, e);
    } catch (IllegalArgumentException e) {
      // SnakeYAML's scanner lets some bad escapes out raw: "\x" without hex digits is a NumberFormatException.
      throw new SyntaxError(0, 0, "bad escape sequence (" + e.getMessage() + ")", null, e);
    }
  }
}
