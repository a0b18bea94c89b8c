package io.goscope.plugins.redis;

import io.goscope.api.FailureMode;
import io.goscope.api.FunctionProbe;
import io.goscope.api.ProbeSet;
import io.goscope.api.ProbeSetDescriptor;
import io.goscope.api.RecordDecoder;
import io.goscope.api.StructField;
import java.util.List;
import org.pf4j.Extension;

/**
 * go-redis v9 commands, pipelines and transactions, decoded by {@link RedisEventDecoder}. What each hooked function
 * is and what it reads: {@code src/main/bpf/redis.bpf.c}.
 */
@Extension
public final class RedisProbeSet implements ProbeSet {
  /** Probe set id, also the plugin id. */
  public static final String ID = "redis";

  static final String MODULE = "github.com/redis/go-redis/v9";
  private static final String PKG = MODULE;

  static final List<StructField> FIELDS = List.of(
      new StructField(MODULE, PKG + ".baseClient", "opt", "off_base_client_opt"),
      new StructField(MODULE, PKG + ".Options", "Addr", "off_options_addr"),
      new StructField(MODULE, PKG + ".Options", "DB", "off_options_db"),
      new StructField(MODULE, PKG + ".baseCmd", "args", "off_base_cmd_args"));

  private static final ProbeSetDescriptor DESCRIPTOR = buildDescriptor();
  private static final RecordDecoder DECODER = new RedisEventDecoder();

  /** Only binaries whose build info lists go-redis v9 (others leave the set out silently). */
  private static ProbeSetDescriptor buildDescriptor() {
    ProbeSetDescriptor.Builder b = ProbeSetDescriptor.builder(ID)
        .description("go-redis v9 client spans: commands, pipelines, transactions")
        .bpfObject("bpf/redis.bpf.o")
        .offsetTable("offsets/redis-offsets.yaml")
        // v9.2x runs every command through processStartingAt (process itself is inlined away); older v9 through
        // process.
        .probe(FunctionProbe.builder(PKG + ".(*baseClient).processStartingAt")
            .orSymbol(PKG + ".(*baseClient).process")
            .entry("redis_command_entry").ret("redis_return").requires("off_base_cmd_args")
            .versions(MODULE, "v9.0.0", null)
            .failureMode(FailureMode.WARN).build())
        .probe(FunctionProbe.builder(PKG + ".(*baseClient).processPipeline")
            .entry("redis_pipeline_entry").ret("redis_return").requires("off_base_cmd_args")
            .versions(MODULE, "v9.0.0", null)
            .failureMode(FailureMode.WARN).build())
        .probe(FunctionProbe.builder(PKG + ".(*baseClient).processTxPipeline")
            .entry("redis_tx_pipeline_entry").ret("redis_return").requires("off_base_cmd_args")
            .versions(MODULE, "v9.0.0", null)
            .failureMode(FailureMode.IGNORE).build());
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
