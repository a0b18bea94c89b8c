package io.goscope.plugins.pgx;

import io.goscope.api.FailureMode;
import io.goscope.api.FunctionProbe;
import io.goscope.api.ProbeSet;
import io.goscope.api.ProbeSetDescriptor;
import io.goscope.api.RecordDecoder;
import io.goscope.api.StructField;
import java.util.List;
import org.pf4j.Extension;

/**
 * pgx v5's native API (pgx.Conn, pgxpool), decoded by {@link PgxEventDecoder}: one CLIENT span per Query (and
 * QueryRow), Exec and SendBatch. What each hooked function is and what it reads: {@code src/main/bpf/pgx.bpf.c}.
 */
@Extension
public final class PgxProbeSet implements ProbeSet {
  /** Probe set id, also the plugin id. */
  public static final String ID = "pgx";

  static final String MODULE = "github.com/jackc/pgx/v5";
  private static final String PKG = "github.com/jackc/pgx/v5";
  private static final String STDLIB = "github.com/jackc/pgx/v5/stdlib";

  static final List<StructField> FIELDS = List.of(
      new StructField(MODULE, PKG + ".Conn", "config", "off_conn_config"),
      new StructField(MODULE, PKG + ".ConnConfig", "Config", "off_conn_config_config"),
      new StructField(MODULE, PKG + "/pgconn.Config", "Host", "off_config_host"),
      new StructField(MODULE, PKG + "/pgconn.Config", "Port", "off_config_port"),
      new StructField(MODULE, PKG + "/pgconn.Config", "Database", "off_config_database"),
      new StructField(MODULE, PKG + ".Batch", "QueuedQueries", "off_batch_queued_queries"),
      new StructField(MODULE, PKG + ".QueuedQuery", "SQL", "off_queued_query_sql"));

  private static final ProbeSetDescriptor DESCRIPTOR = buildDescriptor();
  private static final RecordDecoder DECODER = new PgxEventDecoder();

  private static FunctionProbe stdlib(String method) {
    return FunctionProbe.builder(STDLIB + "." + method).entry("pgx_stdlib_entry").ret("pgx_stdlib_return")
        .versions(MODULE, "v5.0.0", null).failureMode(FailureMode.IGNORE).build();
  }

  /**
   * Every probe applies to binaries whose build info lists pgx v5 (others leave the set out silently); in those, a
   * missing function or field is warned about.
   */
  private static ProbeSetDescriptor buildDescriptor() {
    ProbeSetDescriptor.Builder b = ProbeSetDescriptor.builder(ID)
        .description("pgx v5 client spans: Query, QueryRow, Exec, SendBatch (pgx.Conn and pgxpool)")
        .bpfObject("bpf/pgx.bpf.o")
        .offsetTable("offsets/pgx-offsets.yaml")
        .probe(FunctionProbe.builder(PKG + ".(*Conn).Query").entry("pgx_query_entry").ret("pgx_return")
            .versions(MODULE, "v5.0.0", null).failureMode(FailureMode.WARN).build())
        .probe(FunctionProbe.builder(PKG + ".(*Conn).Exec").entry("pgx_exec_entry").ret("pgx_return")
            .versions(MODULE, "v5.0.0", null).failureMode(FailureMode.WARN).build())
        .probe(FunctionProbe.builder(PKG + ".(*Conn).SendBatch").entry("pgx_batch_entry").ret("pgx_return")
            .versions(MODULE, "v5.0.0", null).failureMode(FailureMode.IGNORE).build())
        // pgx's database/sql driver: its statements are the database/sql probe set's spans (see pgx.bpf.c).
        .probe(stdlib("(*Conn).QueryContext"))
        .probe(stdlib("(*Conn).ExecContext"))
        .probe(stdlib("(*Conn).BeginTx"))
        .probe(stdlib("wrapTx.Commit"))
        .probe(stdlib("wrapTx.Rollback"))
        .probe(stdlib("(*wrapTx).Commit"))
        .probe(stdlib("(*wrapTx).Rollback"));
    FIELDS.forEach(b::field);
    return b.build();
  }

  @Override
  public ProbeSetDescriptor descriptor() {
    return DESCRIPTOR;
  }

  @Override
  public RecordDecoder decoder() {
    return DECODER;
  }
}
