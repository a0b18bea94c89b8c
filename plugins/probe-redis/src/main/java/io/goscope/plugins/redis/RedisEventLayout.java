package io.goscope.plugins.redis;

/**
 * Byte layout of {@code struct redis_event} in {@code src/main/bpf/redis_event.h} (see its table). The single Java
 * copy; {@code RedisEventLayoutTest} checks it against the C header with the host C compiler.
 */
final class RedisEventLayout {
  static final int TYPE = 1;
  static final int START_NS = 8;
  static final int END_NS = 16;
  static final int TRACE = 24;
  static final int ERROR_TYPE = 64;
  static final int DB = 72;
  static final int ADDR_LEN = 80;
  static final int CMD_COUNT = 88;
  static final int ARG_COUNTS = 96;
  static final int NAME_LENS = 160;
  static final int KIND = 224;
  static final int NIL_REPLY = 225;
  static final int ADDR = 232;
  static final int ADDR_CAP = 64;
  static final int NAMES = 296;
  static final int MAX_CMDS = 8;
  static final int NAME_CAP = 32;
  static final int SIZE = 552;

  static final int KIND_COMMAND = 1;
  static final int KIND_PIPELINE = 2;
  static final int KIND_TRANSACTION = 3;

  private RedisEventLayout() {}
}
