import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { AppModule } from '../src/app.module.js';
import { configureApp } from '../src/app.setup.js';
import { BenchModule } from './bench.module.js';

/** The production app plus the bench-only routes; started by bench/run.ts, never deployed. */
@Module({ imports: [AppModule, BenchModule] })
class BenchAppModule {}

const app = configureApp(await NestFactory.create<NestExpressApplication>(BenchAppModule, { bufferLogs: true }));
await app.listen(Number(process.env.PORT ?? 3000), '127.0.0.1');
