import { HttpStatus } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import { AppError, CommonErrorCode } from '../app-error.js';
import { MAX_BODY_DEPTH } from './body-limits.js';

/** Depth of a parsed JSON value (the body object itself is level 1), walked without recursion. */
export function jsonDepth(value: unknown, stopAbove = Infinity): number {
  let deepest = 0;
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length > 0) {
    const [node, depth] = stack.pop()!;
    if (node === null || typeof node !== 'object') continue;
    deepest = Math.max(deepest, depth);
    if (deepest > stopAbove) return deepest;
    for (const child of Object.values(node)) stack.push([child, depth + 1]);
  }
  return deepest;
}

/**
 * Runs right after the JSON body parser: a body nested deeper than MAX_BODY_DEPTH is refused
 * with 400 before validation (whose recursion would overflow the stack into a 500) ever sees it.
 */
export function rejectDeepBodies(req: Request, _res: Response, next: NextFunction): void {
  if (jsonDepth(req.body, MAX_BODY_DEPTH) > MAX_BODY_DEPTH) {
    next(new AppError(CommonErrorCode.BodyTooDeep, HttpStatus.BAD_REQUEST, 'The request body is nested too deeply',
      `JSON bodies may be nested at most ${MAX_BODY_DEPTH} levels deep: send a flatter document.`));
    return;
  }
  next();
}
