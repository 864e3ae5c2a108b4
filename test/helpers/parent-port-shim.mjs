// Loaded with `node --import` into a plain Node child process, this gives it the
// `process.parentPort` an Electron utility process has, carried over the child's IPC channel:
// `{ connect }` from the parent becomes the first parentPort message (with one port), and
// `{ port: m }` messages travel over that port in both directions.
import { EventEmitter } from 'node:events';

/** Like Electron's MessagePortMain, messages wait in the port until `start()`. */
class IpcPort extends EventEmitter {
  queue = [];
  started = false;
  postMessage(message) {
    process.send?.({ port: message });
  }
  deliver(data) {
    if (this.started) this.emit('message', { data, ports: [] });
    else this.queue.push(data);
  }
  start() {
    this.started = true;
    this.queue.splice(0).forEach((data) => this.emit('message', { data, ports: [] }));
  }
  close() {
    process.disconnect?.();
  }
}

const port = new IpcPort();
const parentPort = new EventEmitter();
const early = [];
parentPort.on('newListener', (event) => {
  if (event === 'message' && early.length > 0)
    setImmediate(() => early.splice(0).forEach((e) => parentPort.emit('message', e)));
});

process.on('message', (message) => {
  if (message && typeof message === 'object' && 'connect' in message) {
    const event = { data: message.connect, ports: [port] };
    if (parentPort.listenerCount('message') > 0) parentPort.emit('message', event);
    else early.push(event);
  } else if (message && typeof message === 'object' && 'port' in message) {
    port.deliver(message.port);
  }
});
process.on('disconnect', () => port.emit('close'));
process.parentPort = parentPort;
