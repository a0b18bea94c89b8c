package io.goscope.api;

import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.api.common.AttributesBuilder;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.function.BiConsumer;
import java.util.function.Predicate;

/**
 * The attributes of one span decoded from one record, built without sorting. {@link Attributes#builder()} sorts and
 * de-duplicates the keys of every set it builds; a decoder builds one set per record, a dozen keys in the same
 * order each time, and that sort was 28 % of the decode thread's time in the pipeline benchmark. These keep the keys
 * in the order they were put (a key put again replaces its value in place), which is all an exporter needs: it walks
 * them with {@link #forEach}.
 *
 * <p>{@link #equals} compares contents with any {@link Attributes}, whatever the order; {@link #hashCode} is that of
 * {@link #asMap()}. Note that the SDK's own attribute sets only equal one another, so compare an expected
 * {@code Attributes.builder()...build()} with these through {@code asMap()}, or with these on the left.
 */
public final class RecordAttributes implements Attributes {
  private static final RecordAttributes EMPTY = new RecordAttributes(new AttributeKey<?>[0], new Object[0]);

  private final AttributeKey<?>[] keys;
  private final Object[] values;

  /** Takes both arrays as they are: exactly as long as the number of attributes, never changed afterwards. */
  private RecordAttributes(AttributeKey<?>[] keys, Object[] values) {
    this.keys = keys;
    this.values = values;
  }

  /** A builder with room for a typical record's attributes. */
  public static AttributesBuilder builder() {
    return new Builder();
  }

  @Override
  @Nullable
  @SuppressWarnings("unchecked")
  public <T> T get(AttributeKey<T> key) {
    if (key == null) {
      return null;
    }
    for (int i = 0; i < keys.length; i++) {
      if (keys[i] == key || keys[i].equals(key)) {
        return (T) values[i];
      }
    }
    return null;
  }

  @Override
  public void forEach(BiConsumer<? super AttributeKey<?>, ? super Object> consumer) {
    for (int i = 0; i < keys.length; i++) {
      consumer.accept(keys[i], values[i]);
    }
  }

  @Override
  public int size() {
    return keys.length;
  }

  @Override
  public boolean isEmpty() {
    return keys.length == 0;
  }

  @Override
  public Map<AttributeKey<?>, Object> asMap() {
    Map<AttributeKey<?>, Object> m = new LinkedHashMap<>();
    forEach(m::put);
    return Collections.unmodifiableMap(m);
  }

  @Override
  public AttributesBuilder toBuilder() {
    Builder b = new Builder();
    b.putAll(this);
    return b;
  }

  @Override
  public boolean equals(Object o) {
    if (o == this) {
      return true;
    }
    if (!(o instanceof Attributes other) || other.size() != keys.length) {
      return false;
    }
    for (int i = 0; i < keys.length; i++) {
      if (!Objects.equals(values[i], other.get(keys[i]))) {
        return false;
      }
    }
    return true;
  }

  @Override
  public int hashCode() {
    return asMap().hashCode();
  }

  @Override
  public String toString() {
    return asMap().toString();
  }

  /**
   * Collects keys in put order; a key put again replaces its value. Null keys, empty names and null values are
   * ignored, as the SDK's builder does.
   */
  private static final class Builder implements AttributesBuilder {
    private AttributeKey<?>[] keys = new AttributeKey<?>[16];
    private Object[] values = new Object[16];
    private int size;

    @Override
    public Attributes build() {
      if (size == 0) {
        return EMPTY;
      }
      return new RecordAttributes(Arrays.copyOf(keys, size), Arrays.copyOf(values, size));
    }

    @Override
    public <T> AttributesBuilder put(AttributeKey<Long> key, int value) {
      return put(key, (long) value);
    }

    @Override
    public <T> AttributesBuilder put(AttributeKey<T> key, T value) {
      if (key == null || key.getKey().isEmpty() || value == null) {
        return this;
      }
      for (int i = 0; i < size; i++) {
        if (keys[i] == key || keys[i].equals(key)) {
          values[i] = value;
          return this;
        }
      }
      if (size == keys.length) {
        keys = Arrays.copyOf(keys, size * 2);
        values = Arrays.copyOf(values, size * 2);
      }
      keys[size] = key;
      values[size] = value;
      size++;
      return this;
    }

    @Override
    @SuppressWarnings("unchecked")
    public AttributesBuilder putAll(Attributes attributes) {
      if (attributes != null) {
        attributes.forEach((k, v) -> put((AttributeKey<Object>) k, v));
      }
      return this;
    }

    @Override
    public AttributesBuilder removeIf(Predicate<AttributeKey<?>> filter) {
      if (filter == null) {
        return this;
      }
      int kept = 0;
      for (int i = 0; i < size; i++) {
        if (!filter.test(keys[i])) {
          keys[kept] = keys[i];
          values[kept] = values[i];
          kept++;
        }
      }
      Arrays.fill(keys, kept, size, null);
      Arrays.fill(values, kept, size, null);
      size = kept;
      return this;
    }

    @Override
    public <T> AttributesBuilder remove(AttributeKey<T> key) {
      return key == null ? this : removeIf(key::equals);
    }
  }
}
