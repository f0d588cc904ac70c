import { ApiProperty } from '@nestjs/swagger';
import { IsNotEmpty, IsString, MaxLength } from 'class-validator';

export class SelectSiteDto {
  @ApiProperty({ description: 'One of `availableSites[].cloudId` from the status response.' })
  @IsString()
  @IsNotEmpty()
  @MaxLength(128)
  cloudId: string;
}
