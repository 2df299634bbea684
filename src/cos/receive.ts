// Streams a request body to a file: flat memory whatever the size (the socket is paused while
// the file or the MD5 thread is behind), the size limit enforced as bytes arrive, and the MD5
// computed on the way for Content-MD5 and the ETag. On any failure the file is removed; an
// accepted body is fsynced (data and directory entry) before receiveBody returns.
import { createWriteStream } from "node:fs";
import { rm } from "node:fs/promises";
import type { IncomingMessage } from "node:http";
import { dirname } from "node:path";
import { syncDir, syncFile } from "../blobs/durable.js";
import { cosErrors } from "./errors.js";
import { startMd5 } from "./md5.js";

export interface Received {
  size: number;
  /** MD5 of the body, 16 bytes. */
  md5: Buffer;
}

/** The 16 bytes a Content-MD5 header names; InvalidDigest when it is not base64 of 16 bytes. */
export function contentMd5(header: string | string[] | undefined): Buffer | undefined {
  if (header === undefined) return undefined;
  const value = Array.isArray(header) ? header[0]! : header;
  const bytes = /^[A-Za-z0-9+/]{22}==$/.test(value.trim()) ? Buffer.from(value.trim(), "base64") : undefined;
  if (!bytes || bytes.length !== 16)
    throw cosErrors.invalidDigest("The Content-MD5 you specified is not valid.");
  return bytes;
}

/** The declared Content-Length, or undefined (chunked). */
export function declaredLength(req: IncomingMessage): number | undefined {
  const raw = req.headers["content-length"];
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < 0) throw cosErrors.invalidArgument("Content-Length is not valid.");
  return n;
}

export async function receiveBody(
  req: IncomingMessage,
  dest: string,
  o: { maxBytes: number; what: string },
): Promise<Received> {
  const declared = declaredLength(req);
  const tooLarge = () =>
    cosErrors.entityTooLarge(`The ${o.what} is larger than the ${o.maxBytes} bytes openvod accepts.`);
  if (declared !== undefined && declared > o.maxBytes) throw tooLarge();
  const expected = contentMd5(req.headers["content-md5"]);
  const md5 = startMd5(declared);
  const out = createWriteStream(dest, { flags: "wx", highWaterMark: 1024 * 1024 });
  // Errors of a stream destroyed on the way out (a write still pending) are no one's business.
  out.on("error", () => {});
  let size = 0;

  try {
    await new Promise<void>((resolve, reject) => {
      let settled = false;
      let waits = 0;
      const settle = (err?: Error) => {
        if (settled) return;
        settled = true;
        req.off("data", onData);
        req.off("end", onEnd);
        req.off("error", settle);
        req.off("close", onClose);
        out.off("error", settle);
        if (err) {
          // Whatever is left of the body is read and dropped (Node does it after the reply),
          // so the client gets the error reply instead of a reset connection. The client may
          // still go away meanwhile: that is no error of ours any more.
          req.on("error", () => {});
          req.resume();
          reject(err);
        } else resolve();
      };
      const resume = () => {
        if (--waits === 0 && !settled) req.resume();
      };
      const onData = (chunk: Buffer) => {
        size += chunk.length;
        if (size > o.maxBytes) return settle(tooLarge());
        let hashWait: Promise<void> | undefined;
        try {
          hashWait = md5.update(chunk);
        } catch (err) {
          return settle(err as Error);
        }
        const fileFull = !out.write(chunk);
        if (hashWait || fileFull) {
          req.pause();
          if (hashWait) (waits++, hashWait.then(resume, settle));
          if (fileFull) (waits++, out.once("drain", resume));
        }
      };
      const onEnd = () => {
        req.off("data", onData);
        out.end(() => settle());
      };
      const onClose = () => {
        if (!req.complete) settle(new Error("the client closed the connection before the body ended"));
      };
      req.on("data", onData);
      req.on("end", onEnd);
      req.on("error", settle);
      req.on("close", onClose);
      out.on("error", settle);
    });
    if (declared !== undefined && size !== declared) {
      throw cosErrors.invalidRequest(`The body has ${size} bytes, Content-Length said ${declared}.`);
    }
    const digest = await md5.digest();
    if (expected && !expected.equals(digest)) {
      throw cosErrors.invalidDigest("The Content-MD5 you specified did not match what we received.");
    }
    // On disk before the 200 that accepts it: the file's data, then its name in the directory.
    await syncFile(dest);
    await syncDir(dirname(dest));
    return { size, md5: digest };
  } catch (err) {
    md5.cancel();
    out.destroy();
    await rm(dest, { force: true });
    throw err;
  }
}

/** Reads a small body (an XML document) into memory; InvalidRequest past `maxBytes`. */
export async function readSmallBody(req: IncomingMessage, maxBytes: number): Promise<Buffer> {
  const declared = declaredLength(req);
  const tooLarge = () => cosErrors.invalidRequest(`The request body is larger than ${maxBytes} bytes.`);
  if (declared !== undefined && declared > maxBytes) throw tooLarge();
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) {
        // The rest is read and dropped (not a reset connection), so the client gets the error.
        req.off("data", onData);
        req.on("error", () => {});
        req.resume();
        reject(tooLarge());
        return;
      }
      chunks.push(chunk);
    };
    req.on("data", onData);
    req.once("end", () => resolve(Buffer.concat(chunks)));
    req.once("error", reject);
    req.once("close", () => {
      if (!req.complete) reject(new Error("the client closed the connection before the body ended"));
    });
  });
}
