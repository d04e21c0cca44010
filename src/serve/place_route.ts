/**
 * POST /place of `worldloop serve`: paints a placed object into the frames the browser page sends
 * (src/web/page/place_request.ts), with the truth renderer as ModelWorld.placeObject paints
 * (src/object_painter.ts). The page keeps the model world; the server only draws.
 */
import type http from 'node:http';
import { ObjectPainter } from '../object_painter.js';
import { decodePlaceRequest, PLACE_LIMITS, PlaceRequestError } from '../web/page/place_request.js';

export interface PlaceAnswer {
  status: number;
  type: string;
  body: Buffer;
}

/** Truth-world painters by frame size (a page plays one model: one size). */
export class PlacePainters {
  private readonly bySize = new Map<string, ObjectPainter>();

  /** Paints the request in `body`; a bad request is answered 400/413 with what is wrong. */
  answer(body: Uint8Array): PlaceAnswer {
    const text = (status: number, msg: string): PlaceAnswer => ({ status, type: 'text/plain; charset=utf-8', body: Buffer.from(`${msg}\n`) });
    let r;
    try {
      r = decodePlaceRequest(body);
    } catch (e) {
      if (e instanceof PlaceRequestError) return text(e.status, e.message);
      throw e;
    }
    const key = `${r.width}x${r.height}`;
    let painter = this.bySize.get(key);
    if (!painter) {
      if (this.bySize.size >= 2) this.closeOne();
      painter = new ObjectPainter(r.width, r.height);
      this.bySize.set(key, painter);
    }
    const out = Buffer.from(r.frames);
    const per = r.width * r.height * 3;
    try {
      const draw = painter.begin(r.seed, r.light);
      r.views.forEach((v, i) => draw(r.kind, v, out.subarray(i * per, (i + 1) * per)));
    } catch (e) {
      return text(400, `/place: the truth renderer refused it: ${(e as Error).message}`);
    }
    return { status: 200, type: 'application/octet-stream', body: out };
  }

  private closeOne(): void {
    const [k, p] = this.bySize.entries().next().value!;
    p.close();
    this.bySize.delete(k);
  }

  close(): void {
    for (const p of this.bySize.values()) p.close();
    this.bySize.clear();
  }
}

/** The request's body, or a PlaceRequestError(413) as soon as it grows past the limit. */
export function readPlaceBody(req: http.IncomingMessage): Promise<Uint8Array> {
  const max = PLACE_LIMITS.maxBodyBytes;
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > max) {
      reject(new PlaceRequestError(413, `/place: the body has ${declared} bytes; at most ${max}`));
      return;
    }
    const parts: Buffer[] = [];
    let got = 0;
    req.on('data', (c: Buffer) => {
      got += c.length;
      if (got > max) {
        req.removeAllListeners('data');
        req.resume();
        reject(new PlaceRequestError(413, `/place: the body has more than ${max} bytes`));
        return;
      }
      parts.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(parts)));
    req.on('error', reject);
  });
}
