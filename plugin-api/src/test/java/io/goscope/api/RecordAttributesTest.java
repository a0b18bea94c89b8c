package io.goscope.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.common.Attributes;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class RecordAttributesTest {
  private static final AttributeKey<String> METHOD = AttributeKey.stringKey("http.request.method");
  private static final AttributeKey<Long> STATUS = AttributeKey.longKey("http.response.status_code");
  private static final AttributeKey<String> PATH = AttributeKey.stringKey("url.path");

  @Test
  void keepsPutOrderReplacesRepeatedKeysAndIgnoresWhatTheSdkIgnores() {
    Attributes a = RecordAttributes.builder()
        .put(STATUS, 200L).put(METHOD, "GET").put(PATH, "/a").put(METHOD, "POST")
        .put(AttributeKey.stringKey(""), "empty name").put(PATH.getKey(), (String) null)
        .put(AttributeKey.longKey("n"), 7)
        .build();
    List<String> order = new ArrayList<>();
    a.forEach((k, v) -> order.add(k.getKey() + "=" + v));
    assertEquals(List.of("http.response.status_code=200", "http.request.method=POST", "url.path=/a", "n=7"), order);
    assertEquals(4, a.size());
    assertEquals("POST", a.get(METHOD));
    assertEquals(200L, a.get(STATUS));
    assertEquals(7L, a.get(AttributeKey.longKey("n")), "an equal key, not the same instance");
    assertNull(a.get(AttributeKey.stringKey("missing")));
    assertNull(a.get(null));
  }

  @Test
  void equalsAnyAttributesWithTheSameContentInAnyOrder() {
    Attributes ours = RecordAttributes.builder().put(METHOD, "GET").put(STATUS, 404L).build();
    Attributes sdk = Attributes.builder().put(STATUS, 404L).put(METHOD, "GET").build();
    assertEquals(ours, sdk);
    assertEquals(sdk.asMap(), ours.asMap());
    assertEquals(sdk.asMap().hashCode(), ours.hashCode());
    assertNotEquals(ours, Attributes.builder().put(METHOD, "GET").put(STATUS, 500L).build());
    assertNotEquals(ours, Attributes.builder().put(METHOD, "GET").build());
    assertEquals(Map.of(METHOD, "GET", STATUS, 404L), ours.asMap());
  }

  @Test
  void emptyBuilderRemoveAndToBuilder() {
    assertSame(RecordAttributes.builder().build(), RecordAttributes.builder().build());
    assertTrue(RecordAttributes.builder().build().isEmpty());
    Attributes a = RecordAttributes.builder().put(METHOD, "GET").put(PATH, "/x").put(STATUS, 200L)
        .remove(PATH).build();
    assertEquals(a, Attributes.builder().put(METHOD, "GET").put(STATUS, 200L).build()); // ours on the left
    Attributes b = a.toBuilder().put(PATH, "/y").removeIf(k -> k.equals(STATUS)).build();
    assertEquals(b, Attributes.builder().put(METHOD, "GET").put(PATH, "/y").build());
    assertEquals(2, a.size(), "the original is unchanged");
    Attributes many = RecordAttributes.builder().putAll(Attributes.builder().put("a", "1").put("b", 2L).build())
        .put("c", true).put("d", 1.5).put("e", "x", "y").build();
    assertEquals(5, many.size());
    assertEquals(List.of("x", "y"), many.get(AttributeKey.stringArrayKey("e")));
  }

  @Test
  void growsPastItsInitialRoom() {
    io.opentelemetry.api.common.AttributesBuilder b = RecordAttributes.builder();
    for (int i = 0; i < 40; i++) {
      b.put(AttributeKey.longKey("k" + i), (long) i);
    }
    Attributes a = b.build();
    assertEquals(40, a.size());
    assertEquals(39L, a.get(AttributeKey.longKey("k39")));
  }
}
