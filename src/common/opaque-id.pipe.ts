import { type ArgumentMetadata, HttpStatus, Injectable, type PipeTransform } from '@nestjs/common';
import { AppError } from '../integrations/jira/common/app-error.js';
import { OPAQUE_ID_RULE, parseOpaqueId } from '../integrations/jira/common/opaque-id.js';

/** A route parameter that is a team or user id (see opaque-id.ts); 400 `invalid_id` otherwise. */
@Injectable()
export class OpaqueIdPipe implements PipeTransform<unknown, string> {
  transform(value: unknown, metadata: ArgumentMetadata): string {
    const id = parseOpaqueId(value);
    if (id === null) {
      throw new AppError('invalid_id', HttpStatus.BAD_REQUEST, 'Invalid id', `${metadata.data ?? 'The id'} must be ${OPAQUE_ID_RULE}.`);
    }
    return id;
  }
}
