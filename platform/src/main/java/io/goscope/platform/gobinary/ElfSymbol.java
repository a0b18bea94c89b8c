package io.goscope.platform.gobinary;

/** One .symtab entry. {@code value} is the link-time virtual address. */
public record ElfSymbol(String name, long value, long size, int type, int bind, int sectionIndex) {
  public static final int STT_FUNC = 2;
  public static final int STT_OBJECT = 1;

  public boolean isFunction() {
    return type == STT_FUNC;
  }
}
