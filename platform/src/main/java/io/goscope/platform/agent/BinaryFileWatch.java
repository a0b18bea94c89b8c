package io.goscope.platform.agent;

import java.io.IOException;
import java.nio.file.ClosedWatchServiceException;
import java.nio.file.FileSystems;
import java.nio.file.Path;
import java.nio.file.StandardWatchEventKinds;
import java.nio.file.WatchEvent;
import java.nio.file.WatchKey;
import java.nio.file.WatchService;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Watches the files of lingering binaries (inotify, through the JDK's WatchService on their directories): a write,
 * a replacement or a deletion calls the binary's handler, which detaches it before the file runs again. One watch
 * thread for all files, started on first use.
 */
final class BinaryFileWatch implements ProcessLifecycle.FileWatch, AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(BinaryFileWatch.class);

  private record Entry(String fileName, Runnable onChange) {}

  private final Map<Path, WatchKey> keys = new HashMap<>();
  private final Map<WatchKey, List<Entry>> entries = new HashMap<>();
  private WatchService service;
  private Thread thread;

  @Override
  public synchronized AutoCloseable watch(Path file, Runnable onChange) {
    Path dir = file.toAbsolutePath().getParent();
    try {
      if (service == null) {
        service = FileSystems.getDefault().newWatchService();
        thread = new Thread(this::run, "goscope-binary-watch");
        thread.setDaemon(true);
        thread.start();
      }
      WatchKey key = keys.get(dir);
      if (key == null) {
        key = dir.register(service, StandardWatchEventKinds.ENTRY_MODIFY, StandardWatchEventKinds.ENTRY_DELETE,
            StandardWatchEventKinds.ENTRY_CREATE);
        keys.put(dir, key);
      }
      Entry e = new Entry(file.getFileName().toString(), onChange);
      entries.computeIfAbsent(key, k -> new CopyOnWriteArrayList<>()).add(e);
      WatchKey registered = key;
      return () -> unwatch(dir, registered, e);
    } catch (IOException e) {
      throw new java.io.UncheckedIOException("watch " + file + ": " + e.getMessage(), e);
    }
  }

  private synchronized void unwatch(Path dir, WatchKey key, Entry e) {
    List<Entry> list = entries.get(key);
    if (list != null) {
      list.remove(e);
      if (list.isEmpty()) {
        entries.remove(key);
        keys.remove(dir);
        key.cancel();
      }
    }
  }

  private void run() {
    while (true) {
      WatchKey key;
      try {
        key = service.take();
      } catch (InterruptedException | ClosedWatchServiceException e) {
        return;
      }
      for (WatchEvent<?> event : key.pollEvents()) {
        String changed = event.context() == null ? null : event.context().toString();
        List<Entry> list;
        synchronized (this) {
          list = entries.get(key);
        }
        if (list == null) {
          continue;
        }
        for (Entry e : list) {
          if (changed == null || changed.equals(e.fileName())) {
            log.info("binary file changed file={} event={}", e.fileName(), event.kind().name());
            e.onChange().run();
          }
        }
      }
      key.reset();
    }
  }

  @Override
  public synchronized void close() {
    if (service != null) {
      try {
        service.close();
      } catch (IOException e) {
        log.debug("watch service close failed reason={}", e.toString());
      }
    }
  }
}
