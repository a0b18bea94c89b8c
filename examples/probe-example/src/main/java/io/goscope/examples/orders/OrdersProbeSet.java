package io.goscope.examples.orders;

import io.goscope.api.FailureMode;
import io.goscope.api.FunctionProbe;
import io.goscope.api.ProbeSet;
import io.goscope.api.ProbeSetDescriptor;
import io.goscope.api.RecordDecoder;
import io.goscope.api.StructField;
import org.pf4j.Extension;

/**
 * The example probe set: one INTERNAL span per call of {@code main.processOrder(id int, source *url.URL)} in the
 * orders app, child of the request's net/http SERVER span, decoded by {@link OrderEventDecoder}. What the BPF
 * programs read: {@code src/main/bpf/orders.bpf.c}.
 *
 * <p>Everything here is data the host acts on: the object and offset table are read through
 * {@link ProbeSet#openResource}, the field's offset is written into the object's {@code const volatile} global of the
 * same name before load (a name the object lacks is an error naming it), and each uprobe gets {@link #COOKIE} in
 * the low 32 bits of its BPF cookie.
 */
@Extension
public final class OrdersProbeSet implements ProbeSet {
  /** Probe set id, also the plugin id. */
  public static final String ID = "example-orders";

  /** The hooked function. */
  public static final String SYMBOL = "main.processOrder";

  /** The cookie of the probe's uprobes; the programs copy it into every record (span attribute probe.cookie). */
  public static final long COOKIE = 0xC0FFEE;

  static final String ENTRY_PROGRAM = "orders_process_entry";
  static final String RETURN_PROGRAM = "orders_process_return";

  /**
   * {@code source.RawQuery}: optional, the probe attaches without it (the constant keeps its sentinel and spans carry
   * no {@code order.query}).
   */
  static final StructField URL_RAW_QUERY = StructField.std("net/url.URL", "RawQuery", "off_url_raw_query");

  private static final ProbeSetDescriptor DESCRIPTOR =
      ProbeSetDescriptor.builder(ID)
          .description("Example: INTERNAL spans of the orders app's processOrder")
          .bpfObject("bpf/orders.bpf.o")
          .offsetTable("offsets/orders-offsets.yaml")
          .probe(FunctionProbe.builder(SYMBOL).entry(ENTRY_PROGRAM).ret(RETURN_PROGRAM).cookie(COOKIE)
              .failureMode(FailureMode.WARN).build())
          .field(URL_RAW_QUERY)
          .build();

  private static final RecordDecoder DECODER = new OrderEventDecoder();

  @Override
  public ProbeSetDescriptor descriptor() {
    return DESCRIPTOR;
  }

  @Override
  public RecordDecoder decoder() {
    return DECODER;
  }
}
