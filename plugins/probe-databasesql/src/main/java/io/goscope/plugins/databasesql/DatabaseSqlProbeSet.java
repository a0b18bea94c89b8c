package io.goscope.plugins.databasesql;

import io.goscope.api.FailureMode;
import io.goscope.api.FunctionProbe;
import io.goscope.api.ProbeSet;
import io.goscope.api.ProbeSetDescriptor;
import io.goscope.api.RecordDecoder;
import io.goscope.api.StructField;
import java.util.List;
import org.pf4j.Extension;

/**
 * Go's database/sql, whatever the driver, decoded by {@link DatabaseSqlEventDecoder}: one CLIENT span per query,
 * exec, prepare, prepared-statement run, BEGIN, COMMIT and ROLLBACK, each the child of the span active on the calling
 * goroutine. What each hooked function is and what it reads: {@code src/main/bpf/databasesql.bpf.c}.
 */
@Extension
public final class DatabaseSqlProbeSet implements ProbeSet {
  /** Probe set id, also the plugin id. */
  public static final String ID = "databasesql";

  static final String RETURN_PROGRAM = "dbsql_return";

  /** The DB's connector (the driver's identity) and what the statement and transaction probes read. */
  static final List<StructField> FIELDS = List.of(
      StructField.std("database/sql.DB", "connector", "off_db_connector"),
      StructField.std("database/sql.Stmt", "db", "off_stmt_db"),
      StructField.std("database/sql.Stmt", "query", "off_stmt_query"),
      StructField.std("database/sql.Tx", "db", "off_tx_db"),
      StructField.std("database/sql.Tx", "done", "off_tx_done"),
      StructField.std("database/sql.dsnConnector", "driver", "off_dsn_connector_driver"));

  private static final ProbeSetDescriptor DESCRIPTOR = buildDescriptor();
  private static final RecordDecoder DECODER = new DatabaseSqlEventDecoder();

  /**
   * A probe on a database/sql function. IGNORE: most Go programs use no database, and a probe that cannot attach is
   * still reported, with its reason, by {@code goscope inspect} (and the set's verdict in the agent's log).
   */
  private static FunctionProbe probe(String method, String entry, String... required) {
    return FunctionProbe.builder("database/sql." + method).entry(entry).ret(RETURN_PROGRAM)
        .requires(required).failureMode(FailureMode.IGNORE).build();
  }

  private static ProbeSetDescriptor buildDescriptor() {
    ProbeSetDescriptor.Builder b = ProbeSetDescriptor.builder(ID)
        .description("Go database/sql client spans (any driver): queries, execs, prepared statements, transactions")
        .bpfObject("bpf/databasesql.bpf.o")
        .offsetTable("offsets/databasesql-offsets.yaml")
        .probe(probe("(*DB).queryDC", "dbsql_query_entry"))
        .probe(probe("(*DB).execDC", "dbsql_exec_entry"))
        .probe(probe("(*DB).prepareDC", "dbsql_prepare_entry"))
        .probe(probe("(*DB).beginDC", "dbsql_begin_entry"))
        // A program that never runs a prepared statement's Query or Exec has no such function.
        .probe(FunctionProbe.builder("database/sql.(*Stmt).QueryContext").entry("dbsql_stmt_query_entry")
            .ret(RETURN_PROGRAM).requires("off_stmt_db", "off_stmt_query").failureMode(FailureMode.IGNORE).build())
        .probe(FunctionProbe.builder("database/sql.(*Stmt).ExecContext").entry("dbsql_stmt_exec_entry")
            .ret(RETURN_PROGRAM).requires("off_stmt_db", "off_stmt_query").failureMode(FailureMode.IGNORE).build())
        .probe(probe("(*Tx).Commit", "dbsql_commit_entry", "off_tx_db", "off_tx_done"))
        .probe(probe("(*Tx).rollback", "dbsql_rollback_entry", "off_tx_db", "off_tx_done"));
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
